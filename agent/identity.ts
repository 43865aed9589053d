/**
 * The agent's identity, kept in its data dir: the host id and the certificate the
 * controller issued at join, the private key that never left this host, and the
 * controller's CA. With these a restarted agent is the same host, never a new one.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../shared/state-file.js";

export interface Identity {
  hostId: string;
  /** HOST:PORT the agent joined; reconnects go there. */
  controller: string;
  certPem: string;
  keyPem: string;
  caPem: string;
}

const dirOf = (dataDir: string): string => join(dataDir, "identity");

/** A crash mid-write leaves the old file or the new, never half (shared/state-file.ts). */
const writeAtomic = (path: string, data: string, mode: number): Promise<void> => writeFileAtomic(path, data, { mode });

/**
 * A renewal replaces the key and the certificate together: two files cannot be
 * renamed in one step, so the pair (and the CAs) is first written as one file,
 * renewed.json, then copied over host.key/host.crt/ca.crt, then removed. A crash
 * anywhere leaves either the old pair whole, or renewed.json, which the next
 * load finishes — never a key of one certificate beside another.
 */
const RENEWED = "renewed.json";

export async function loadIdentity(dataDir: string): Promise<Identity | undefined> {
  const dir = dirOf(dataDir);
  await finishRenewal(dir);
  let meta: { hostId?: unknown; controller?: unknown };
  try {
    meta = JSON.parse(await readFile(join(dir, "host.json"), "utf8")) as typeof meta;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  if (typeof meta.hostId !== "string" || typeof meta.controller !== "string") {
    throw new Error(`${join(dir, "host.json")} is damaged: remove the identity folder to join again`);
  }
  const [certPem, keyPem, caPem] = await Promise.all(
    ["host.crt", "host.key", "ca.crt"].map((f) => readFile(join(dir, f), "utf8")),
  );
  return { hostId: meta.hostId, controller: meta.controller, certPem: certPem!, keyPem: keyPem!, caPem: caPem! };
}

/** The key is saved before the join call, so a crash after it never strands a certificate. */
export async function saveKey(dataDir: string, keyPem: string): Promise<void> {
  await mkdir(dirOf(dataDir), { recursive: true, mode: 0o700 });
  await writeAtomic(join(dirOf(dataDir), "host.key"), keyPem, 0o600);
}

export async function saveIdentity(dataDir: string, id: Identity): Promise<void> {
  const dir = dirOf(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(join(dir, "host.key"), id.keyPem, 0o600);
  // Nothing here is for other users: 0600 all, in a 0700 folder.
  await writeAtomic(join(dir, "host.crt"), id.certPem, 0o600);
  await writeAtomic(join(dir, "ca.crt"), id.caPem, 0o600);
  // host.json last: its presence means the identity is whole.
  await writeAtomic(join(dir, "host.json"), JSON.stringify({ hostId: id.hostId, controller: id.controller }) + "\n", 0o600);
}

/** Stores a renewed certificate, its new key and the CAs to trust (see RENEWED). */
export async function saveRenewal(dataDir: string, r: { certPem: string; keyPem: string; caPem: string }): Promise<void> {
  const dir = dirOf(dataDir);
  await writeAtomic(join(dir, RENEWED), JSON.stringify(r) + "\n", 0o600);
  await finishRenewal(dir);
}

/**
 * Stores the CAs to trust from the next connection (a CA rotation's TrustBundle):
 * one file, replaced whole (writeAtomic), so a crash leaves the old bundle or the new.
 */
export async function saveTrustBundle(dataDir: string, caPem: string): Promise<void> {
  await writeAtomic(join(dirOf(dataDir), "ca.crt"), caPem, 0o600);
}

async function finishRenewal(dir: string): Promise<void> {
  let r: { certPem?: unknown; keyPem?: unknown; caPem?: unknown };
  try {
    r = JSON.parse(await readFile(join(dir, RENEWED), "utf8")) as typeof r;
  } catch (e) {
    // None: nothing to finish. Unreadable: its write never completed (writeAtomic renames a whole file), so it cannot be — but drop it rather than stop the agent.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    await rm(join(dir, RENEWED), { force: true });
    return;
  }
  if (typeof r.certPem === "string" && typeof r.keyPem === "string" && typeof r.caPem === "string") {
    await writeAtomic(join(dir, "host.key"), r.keyPem, 0o600);
    await writeAtomic(join(dir, "host.crt"), r.certPem, 0o600);
    await writeAtomic(join(dir, "ca.crt"), r.caPem, 0o600);
  }
  await rm(join(dir, RENEWED), { force: true });
}
