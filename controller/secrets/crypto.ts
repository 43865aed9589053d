/**
 * Secret values at rest (DESIGN.md, "Secrets"): AES-256-GCM with a random 96-bit
 * nonce per value and the secret's name and version as additional authenticated
 * data, so a ciphertext copied under another name or version in the store fails to
 * open instead of handing one secret's value to another's users.
 *
 * The key is 32 random bytes in the controller's data dir (secrets.key, mode 0600),
 * made on first start; a controller group shares one through --secrets-key-file.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmod, readFile, stat, writeFile } from "node:fs/promises";

export const SECRET_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The key file is missing, unreadable, not 32 bytes, or readable by others. */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretKeyError";
  }
}

/** A stored value did not open: wrong key, or the record was altered or moved. */
export class SecretDecryptError extends Error {
  constructor(readonly secret: string) {
    super(`secret ${secret} cannot be decrypted with this controller's key (a different --secrets-key-file, or an altered record)`);
    this.name = "SecretDecryptError";
  }
}

export interface Sealed {
  /** base64 */
  nonce: string;
  /** base64: the ciphertext followed by the 16-byte tag */
  data: string;
}

const aad = (name: string, version: number): Buffer => Buffer.from(`berth-secret\0${name}\0${version}`, "utf8");

export function seal(key: Buffer, name: string, version: number, value: Buffer): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(aad(name, version));
  const data = Buffer.concat([c.update(value), c.final(), c.getAuthTag()]);
  return { nonce: nonce.toString("base64"), data: data.toString("base64") };
}

export function open(key: Buffer, name: string, version: number, s: Sealed): Buffer {
  try {
    const nonce = Buffer.from(s.nonce, "base64");
    const all = Buffer.from(s.data, "base64");
    if (nonce.length !== NONCE_BYTES || all.length < TAG_BYTES) throw new Error("bad lengths");
    const d = createDecipheriv("aes-256-gcm", key, nonce);
    d.setAAD(aad(name, version));
    d.setAuthTag(all.subarray(all.length - TAG_BYTES));
    return Buffer.concat([d.update(all.subarray(0, all.length - TAG_BYTES)), d.final()]);
  } catch {
    throw new SecretDecryptError(name);
  }
}

/**
 * The key from `file`: 32 raw bytes, or 64 hex characters (with an optional newline).
 * With `create`, a missing file is made (mode 0600); a file others may read is refused.
 */
export async function loadSecretKey(file: string, o: { create: boolean }): Promise<Buffer> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" || !o.create) throw new SecretKeyError(`secrets key ${file}: ${(e as Error).message}`);
    const key = randomBytes(SECRET_KEY_BYTES);
    // "wx": two controllers starting on one data dir never overwrite each other's key.
    await writeFile(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" }).catch(async (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    });
    return loadSecretKey(file, { create: false });
  }
  const mode = (await stat(file)).mode & 0o777;
  if (mode & 0o077) {
    // Ours to fix when we made it; someone else's file is theirs to fix.
    if (!o.create) throw new SecretKeyError(`secrets key ${file}: mode ${mode.toString(8)} lets others read it; chmod 600 it`);
    await chmod(file, 0o600);
  }
  const hex = text.toString("utf8").trim();
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, "hex");
  if (text.length === SECRET_KEY_BYTES) return text;
  throw new SecretKeyError(`secrets key ${file}: expected 32 bytes or 64 hex characters (e.g. \`openssl rand -hex 32\`)`);
}
