/**
 * The controller's CA as stored (key `pki/ca`), and its rotation as a pure state
 * machine: every member derives what it trusts, signs with and serves from this
 * record alone, so a controller group follows one rotation (controller/pki/ca-keeper.ts
 * is the shell that follows the store and applies it).
 *
 *   idle      current = A             trust [A]     sign with A   serve with A
 *   rotating  current = A, next = B   trust [A, B]  sign with B   serve with A
 *   idle      current = B             trust [B]     sign with B   serve with B   (A retired)
 *
 * Why the serving certificate stays on A while rotating: an agent trusts B only
 * once it has been told (TrustBundle, or the bundle that comes with a renewed
 * certificate); an agent that was away when the rotation began, and dials with
 * only A in its bundle, must still be able to connect to hear about B. The switch
 * to B happens when no host's certificate is signed by A: each of them got the
 * bundle [A, B] with its B certificate, so every host trusts B by then.
 *
 * Records written before rotation existed are `{certPem, keyPem}`: an idle record.
 */
import { z } from "zod";
import { caFingerprint, type CertAndKey } from "../../shared/tls/pki.js";
import type { HostRecord } from "../hosts/host.js";

export const CA_KEY = "pki/ca";

/** Hosts renew at a random moment within this, after `berth ca rotate`, unless told otherwise. */
export const DEFAULT_ROTATION_SPREAD_MS = 60_000;

export interface Rotation {
  next: CertAndKey;
  startedAtMs: number;
  /** The token that ran `berth ca rotate`. */
  by: string;
  /** Hosts on the old CA renew at a random moment within this. */
  spreadMs: number;
}

export interface Retired {
  /** The retired CA's certificate (its key is dropped). */
  certPem: string;
  atMs: number;
}

export interface CaRecord extends CertAndKey {
  rotation?: Rotation;
  /** What the last completed rotation retired, for `berth ca status`. */
  retired?: Retired;
}

const pem = z.string().min(1).max(64 * 1024);
const nat = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const CertAndKeySchema = z.object({ certPem: pem, keyPem: pem });

export const CaRecordSchema = CertAndKeySchema.extend({
  rotation: z.object({ next: CertAndKeySchema, startedAtMs: nat, by: z.string(), spreadMs: nat }).optional(),
  retired: z.object({ certPem: pem, atMs: nat }).optional(),
});

export type CaPhase = "idle" | "rotating";

export function caPhase(r: CaRecord): CaPhase {
  return r.rotation ? "rotating" : "idle";
}

/** The CA certificates clients and the controller trust now, oldest first. */
export function trustedCas(r: CaRecord): string[] {
  return r.rotation ? [r.certPem, r.rotation.next.certPem] : [r.certPem];
}

/** The trust bundle as one PEM text (certificates joined by "\n": @peculiar/x509 writes no trailing newline). */
export function bundlePem(r: CaRecord): string {
  return trustedCas(r)
    .map((p) => p.trim())
    .join("\n");
}

/** The CA host certificates are signed with now: the next one as soon as a rotation starts. */
export function signingCa(r: CaRecord): CertAndKey {
  return r.rotation ? r.rotation.next : { certPem: r.certPem, keyPem: r.keyPem };
}

/** The CA the controller's serving certificate is issued by (see the table above). */
export function servingCa(r: CaRecord): CertAndKey {
  return { certPem: r.certPem, keyPem: r.keyPem };
}

export class RotationInProgressError extends Error {
  constructor(startedAtMs: number) {
    super(`a CA rotation is already in progress (started ${new Date(startedAtMs).toISOString()}): see \`berth ca status\``);
    this.name = "RotationInProgressError";
  }
}

/** `berth ca rotate`: the record with `next` introduced. Refused while one is in progress. */
export function startRotation(r: CaRecord, next: CertAndKey, o: { nowMs: number; by: string; spreadMs: number }): CaRecord {
  if (r.rotation) throw new RotationInProgressError(r.rotation.startedAtMs);
  return { ...r, rotation: { next, startedAtMs: o.nowMs, by: o.by, spreadMs: o.spreadMs } };
}

/**
 * Whether a host may still hold a certificate signed by the CA being retired.
 * A record without certCa is from before issuers were kept: issued by the only
 * CA there was, i.e. not the next one. A certificate issued by the next CA that
 * the agent has not confirmed storing (certUnconfirmed) does not count yet: its
 * answer may have been lost with the stream, and retiring the old CA then would
 * lock the host out at its next connection.
 */
export function onOldCa(r: CaRecord, h: Pick<HostRecord, "certCa" | "certUnconfirmed">, nextFingerprint = r.rotation ? caFingerprint(r.rotation.next.certPem) : undefined): boolean {
  return nextFingerprint !== undefined && (h.certCa !== nextFingerprint || h.certUnconfirmed === true);
}

export interface RotationProgress {
  onOld: string[];
  onNew: string[];
}

/** Which hosts are still on the old CA, which on the new (empty both when idle). */
export function rotationProgress(r: CaRecord, hosts: readonly Pick<HostRecord, "id" | "certCa" | "certUnconfirmed">[]): RotationProgress {
  if (!r.rotation) return { onOld: [], onNew: [] };
  const fp = caFingerprint(r.rotation.next.certPem);
  const onOld: string[] = [];
  const onNew: string[] = [];
  for (const h of hosts) (onOldCa(r, h, fp) ? onOld : onNew).push(h.id);
  return { onOld: onOld.sort(), onNew: onNew.sort() };
}

/**
 * The record after this step of the rotation: the old CA retired (next becomes
 * current, its key with it) once no host's certificate is signed by it; else
 * undefined (nothing to do: idle, or hosts still to renew).
 */
export function retireIfDone(r: CaRecord, hosts: readonly Pick<HostRecord, "id" | "certCa" | "certUnconfirmed">[], nowMs: number): CaRecord | undefined {
  if (!r.rotation) return undefined;
  if (rotationProgress(r, hosts).onOld.length > 0) return undefined;
  return { certPem: r.rotation.next.certPem, keyPem: r.rotation.next.keyPem, retired: { certPem: r.certPem, atMs: nowMs } };
}

/**
 * What TrustBundle.renew_within_ms says: during a rotation, its spread — an agent
 * whose certificate is not signed by the bundle's newest CA renews within it (the
 * agent judges by the certificate it holds, which may be older than the record's:
 * one that renewed but crashed before storing it); 0 when idle.
 */
export function renewWithinMs(r: CaRecord): number {
  return r.rotation ? Math.max(1, r.rotation.spreadMs) : 0;
}
