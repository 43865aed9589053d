import { describe, expect, it, afterEach } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSecretKey, open, seal, SecretDecryptError, SecretKeyError } from "../../../controller/secrets/crypto.js";

describe("secret sealing (AES-256-GCM, name and version as AAD)", () => {
  const key = randomBytes(32);
  const value = Buffer.from("hunter2-very-secret");

  it("opens what it sealed, and the stored form holds no plaintext", () => {
    const s = seal(key, "db", 3, value);
    expect(open(key, "db", 3, s).equals(value)).toBe(true);
    expect(JSON.stringify(s)).not.toContain("hunter2");
    expect(Buffer.from(s.nonce, "base64")).toHaveLength(12);
    // A random nonce each time: the same value never seals the same way twice.
    expect(seal(key, "db", 3, value).data).not.toBe(s.data);
  });

  it("refuses a record moved to another name or version, altered, or opened with another key", () => {
    const s = seal(key, "db", 3, value);
    expect(() => open(key, "other", 3, s)).toThrow(SecretDecryptError);
    expect(() => open(key, "db", 4, s)).toThrow(SecretDecryptError);
    const bytes = Buffer.from(s.data, "base64");
    bytes[0] = bytes[0]! ^ 1;
    expect(() => open(key, "db", 3, { ...s, data: bytes.toString("base64") })).toThrow(SecretDecryptError);
    expect(() => open(randomBytes(32), "db", 3, s)).toThrow(/cannot be decrypted/);
  });
});

describe("the secrets key file", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is made on first start with mode 0600, and the same key is read back", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-key-"));
    const f = join(dir, "secrets.key");
    const k1 = await loadSecretKey(f, { create: true });
    expect(k1).toHaveLength(32);
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect((await loadSecretKey(f, { create: true })).equals(k1)).toBe(true);
    expect((await readFile(f, "utf8")).trim()).toBe(k1.toString("hex"));
  });

  it("refuses a given file others may read, or of the wrong size, or missing", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-key-"));
    const f = join(dir, "given.key");
    await writeFile(f, randomBytes(32).toString("hex"), { mode: 0o644 });
    await expect(loadSecretKey(f, { create: false })).rejects.toThrow(/lets others read it; chmod 600/);
    await writeFile(join(dir, "short.key"), "abcd", { mode: 0o600 });
    await expect(loadSecretKey(join(dir, "short.key"), { create: false })).rejects.toThrow(SecretKeyError);
    await expect(loadSecretKey(join(dir, "missing.key"), { create: false })).rejects.toThrow(SecretKeyError);
  });
});
