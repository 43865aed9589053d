/**
 * Named, versioned secrets (DESIGN.md, "Secrets"), stored encrypted under
 * `secrets/<name>` and cached with each key's modRevision. The cache follows the
 * store's watch, so every controller sharing a store sees a set at once.
 *
 * A value is decrypted in one place only: valuesFor, when the reconcile loop builds
 * the assignment of the host that runs an instance using it. Nothing here logs,
 * returns or records a value anywhere else.
 */
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import type { SecretValue } from "../../shared/gen/berth/v1/SecretValue.js";
import { SECRET_NAME, SECRET_NAME_MESSAGE } from "../../shared/spec/schema.js";
import { MAX_SECRET_BYTES } from "../../shared/secret-limits.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { Compare, Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import { open, seal, type Sealed } from "./crypto.js";

export const SECRET_PREFIX = "secrets/";
export const secretKey = (name: string): string => `${SECRET_PREFIX}${name}`;
export { MAX_SECRET_BYTES };

export interface SecretRecord extends Sealed {
  name: string;
  version: number;
  createdAtMs: number;
  updatedAtMs: number;
  /** The token id that set the current version. */
  updatedBy: string;
}

const SecretRecordSchema = z.object({
  name: z.string().regex(SECRET_NAME),
  version: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  nonce: z.string().max(64),
  data: z.string().max(MAX_SECRET_BYTES * 2),
  createdAtMs: z.number().min(0),
  updatedAtMs: z.number().min(0),
  updatedBy: z.string().max(256),
});

/** A name or value refused at the boundary; the message names which and why. */
export class SecretInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretInputError";
  }
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new SecretInputError(`name: ${JSON.stringify(name.slice(0, 80))} ${SECRET_NAME_MESSAGE}`);
}

export function checkSecretValue(value: Buffer): void {
  if (value.length === 0) throw new SecretInputError("value: empty; give the value on stdin or with --from-file");
  if (value.length > MAX_SECRET_BYTES) throw new SecretInputError(`value: ${value.length} bytes is more than the limit of ${MAX_SECRET_BYTES / 1024} KiB`);
}

/** The secret names a spec uses, env and files together, sorted. */
export function secretsUsed(spec: Pick<ServiceSpec, "secrets" | "secretFiles">): string[] {
  return [...new Set([...Object.values(spec.secrets), ...Object.values(spec.secretFiles)].map((r) => r.secret))].sort();
}

/** The spec with every reference to `name` at `version`: what a new value of it rolls to. */
export function withSecretVersion(spec: ServiceSpec, name: string, version: number): ServiceSpec {
  const bump = (m: ServiceSpec["secrets"]): ServiceSpec["secrets"] =>
    Object.fromEntries(Object.entries(m).map(([k, r]) => [k, r.secret === name ? { secret: name, version } : r]));
  return { ...spec, secrets: bump(spec.secrets), secretFiles: bump(spec.secretFiles) };
}

export class SecretStore {
  private readonly cache = new Map<string, { rec: SecretRecord; modRevision: number }>();
  private watcher: Watcher | undefined;

  constructor(
    private readonly store: Store,
    private readonly key: Buffer,
    private readonly log: Logger,
  ) {}

  /** Reads every secret record, then follows the prefix from the revision read. */
  async load(): Promise<void> {
    const rev = await this.store.revision();
    for (const kv of await this.store.scan(SECRET_PREFIX)) this.take(kv.key, kv.value, kv.modRevision);
    this.watcher = await this.store.watch(
      SECRET_PREFIX,
      (ev) => {
        if (ev.type === "put") this.take(ev.kv.key, ev.kv.value, ev.kv.modRevision);
        else this.cache.delete(ev.key);
        this.onChange?.();
      },
      { fromRevision: rev + 1 },
    );
  }

  close(): void {
    this.watcher?.close();
  }

  private take(key: string, value: string, modRevision: number): void {
    const d = decodeRecord(SecretRecordSchema, value);
    if (!d.ok || secretKey(d.rec.name) !== key) {
      // The record's reason may quote its fields, never a value: data is ciphertext.
      this.log.error({ key, reason: d.ok ? "filed under another name" : d.reason }, "secret record unusable: ignored");
      this.cache.delete(key);
      return;
    }
    const cur = this.cache.get(key);
    if (!cur || cur.modRevision <= modRevision) this.cache.set(key, { rec: d.rec, modRevision });
  }

  /** Reads one secret's record now, rather than when the watch delivers it. */
  async refresh(name: string): Promise<void> {
    const kv = await this.store.get(secretKey(name));
    if (kv) this.take(kv.key, kv.value, kv.modRevision);
    else this.cache.delete(secretKey(name));
    this.onChange?.();
  }

  /** Called after the cache changed (the reconcile loop re-sends assignments). */
  onChange: (() => void) | undefined;

  get(name: string): SecretRecord | undefined {
    return this.cache.get(secretKey(name))?.rec;
  }

  list(): SecretRecord[] {
    return [...this.cache.values()].map((c) => c.rec).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** "Unchanged since I read it": the compare for a txn that decided from this secret's version. */
  compareFor(name: string): Compare {
    return { key: secretKey(name), modRevision: this.cache.get(secretKey(name))?.modRevision ?? 0 };
  }

  /** The record of the next version of `name` holding `value`; undefined when the value is the current one. */
  sealNext(name: string, value: Buffer, actor: string, nowMs: number): SecretRecord | undefined {
    const cur = this.get(name);
    if (cur && open(this.key, name, cur.version, cur).equals(value)) return undefined;
    const version = (cur?.version ?? 0) + 1;
    return { name, version, ...seal(this.key, name, version, value), createdAtMs: cur?.createdAtMs ?? nowMs, updatedAtMs: nowMs, updatedBy: actor };
  }

  encode(rec: SecretRecord): string {
    return encodeRecord(rec);
  }

  /**
   * One secret's current value, decrypted: for a GitOps source's credential or
   * webhook key, used at once and never stored, logged or sent anywhere else.
   * Undefined when there is none or it cannot be decrypted.
   */
  value(name: string): Buffer | undefined {
    const rec = this.get(name);
    if (!rec) return undefined;
    try {
      return open(this.key, name, rec.version, rec);
    } catch {
      this.log.error({ secret: name }, "secret cannot be decrypted");
      return undefined;
    }
  }

  /**
   * The values of the secrets `spec` names, decrypted: for the assignment of the host
   * that runs it, and nothing else. A secret missing or unreadable is left out (and
   * logged by name): the agent then refuses to start the instance, naming it.
   * Undefined while this cache is behind the spec (a version it names has not been
   * seen yet): the caller sends nothing until it has.
   */
  valuesFor(spec: Pick<ServiceSpec, "secrets" | "secretFiles">): SecretValue[] | undefined {
    const wanted = new Map<string, number>();
    for (const r of [...Object.values(spec.secrets), ...Object.values(spec.secretFiles)]) wanted.set(r.secret, Math.max(r.version, wanted.get(r.secret) ?? 0));
    const out: SecretValue[] = [];
    for (const [name, version] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
      const rec = this.get(name);
      if (!rec) {
        this.log.warn({ secret: name }, "a service uses a secret that is not stored");
        continue;
      }
      if (rec.version < version) return undefined;
      try {
        out.push({ name, version: rec.version, value: open(this.key, name, rec.version, rec) });
      } catch (err) {
        this.log.error({ secret: name, err: err instanceof Error ? err.message : String(err) }, "secret cannot be decrypted");
      }
    }
    return out;
  }
}
