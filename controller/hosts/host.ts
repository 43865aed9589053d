/** What the controller stores about a host (key `hosts/<id>`). */
import { z } from "zod";
import type { HostFacts__Output } from "../../shared/gen/berth/v1/HostFacts.js";
import type { Labels } from "../../shared/labels.js";
import type { Same } from "../../shared/same-type.js";
import type { Health } from "../failure/detector.js";

export const HOST_PREFIX = "hosts/";
export const hostKey = (id: string): string => `${HOST_PREFIX}${id}`;

export interface HostRecord {
  id: string;
  labels: Labels;
  /** The address services on this host are reached at (health checks, endpoints). */
  advertiseAddr: string;
  facts: HostFacts__Output | null;
  health: Health;
  healthSinceMs: number;
  /** Kept apart from health: a cordoned host that goes down and comes back is still cordoned. */
  cordoned: boolean;
  /** `berth drain`: its instance moves to a spare (health-gated); then it stays cordoned. */
  draining?: boolean;
  joinedAtMs: number;
  /** Serial of the host's current certificate (issued at join or at its last renewal); the stream must present it or prevCertSerial. */
  certSerial: string;
  /**
   * The certificate a renewal replaced: still accepted until its own expiry, so an
   * agent that renewed but has not yet reconnected (or crashed before it stored the
   * new one) is not locked out.
   */
  prevCertSerial?: string;
  /** notAfter of prevCertSerial (unix ms), so its revocation can be pruned once it has expired; absent on records from before it was kept. */
  prevCertNotAfterMs?: number;
  /** notAfter of certSerial (unix ms), for `berth hosts`, metrics and the expiry warning; absent on records from before it was kept. */
  certNotAfterMs?: number;
  /** Fingerprint of the CA that signed certSerial (controller/pki/ca-record.ts: which hosts a CA rotation still waits for); absent on records from before it was kept. */
  certCa?: string;
  /**
   * certSerial was issued by a renewal, and the agent has not yet said it stored it
   * (CertificateStored) nor presented it: the answer may have been lost with its
   * stream. Until then the host counts as holding the certificate it connected with:
   * a CA rotation waits for it. Absent: confirmed (a join's certificate, and records
   * from before this was kept).
   */
  certUnconfirmed?: true;
}

const nat = z.number().min(0).max(Number.MAX_SAFE_INTEGER);

/** HostFacts as the agent sent them (proto3: every field present). */
const FactsSchema = z.object({
  hostname: z.string(),
  os_distro: z.string(),
  os_release: z.string(),
  kernel: z.string(),
  arch: z.string(),
  cpu_model: z.string(),
  cpu_cores: nat,
  cpu_physical_cores: nat,
  cpu_speed_ghz: nat,
  memory_total_bytes: nat,
  disks: z.array(z.object({ name: z.string(), type: z.string(), size_bytes: nat, model: z.string(), removable: z.boolean() })),
  filesystems: z.array(z.object({ mount: z.string(), fs_type: z.string(), size_bytes: nat, used_bytes: nat })),
  interfaces: z.array(z.object({ name: z.string(), mac: z.string(), addresses: z.array(z.string()), internal: z.boolean() })),
  virtual: z.boolean(),
  hypervisor: z.string(),
  system_vendor: z.string(),
  system_model: z.string(),
  agent_version: z.string(),
  // Records stored before allowRoot existed: such a host did not allow root.
  allow_root: z.boolean().default(false),
});

/** A stored HostRecord (controller/store/record.ts decodes with it). */
export const HostRecordSchema = z.object({
  id: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  advertiseAddr: z.string(),
  facts: FactsSchema.nullable(),
  health: z.enum(["joining", "ready", "down"]),
  healthSinceMs: nat,
  cordoned: z.boolean(),
  draining: z.boolean().optional(),
  joinedAtMs: nat,
  certSerial: z.string(),
  prevCertSerial: z.string().optional(),
  prevCertNotAfterMs: nat.optional(),
  certNotAfterMs: nat.optional(),
  certCa: z.string().optional(),
  certUnconfirmed: z.literal(true).optional(),
});
const exact: Same<z.output<typeof HostRecordSchema>, HostRecord> = true;
void exact;

export type HostStatus = "joining" | "ready" | "down" | "cordoned" | "draining";

/** The one word `berth hosts` shows: down wins over cordoned, cordoned over ready. */
export function hostStatus(h: Pick<HostRecord, "health" | "cordoned" | "draining">): HostStatus {
  if (h.health === "down") return "down";
  if (h.health === "joining") return "joining";
  if (h.draining) return "draining";
  return h.cordoned ? "cordoned" : "ready";
}
