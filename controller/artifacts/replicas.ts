/**
 * Artifacts in a controller group (issue 11): every member serves every artifact,
 * and an upload survives the loss of the member that took it. Blobs never go into
 * the store (etcd): they move between the members' own content-addressed folders
 * (artifact-store.ts), by digest, over MemberService.
 * - ensure(): a member asked for a digest it lacks (an agent's fetch, an apply's
 *   check, another member's EnsureArtifact) fetches it from a member that has it,
 *   hashing as it streams; put() keeps it only if the digest, the size and the
 *   archive checks hold. Concurrent asks for one digest share one fetch.
 * - replicate(): after an upload here, the upload is acknowledged once one more
 *   member holds a verified copy (two copies whenever two members are live): the
 *   loss of any one member then loses nothing an apply was told is stored. The
 *   other members are asked too, and fetch in the background; one that has not
 *   yet fetches on demand. Waiting for every member instead would let one slow or
 *   partitioned member hold every apply up, for no more than the group's own
 *   tolerance of one lost member.
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../shared/log/logger.js";
import type { ArtifactUpload__Output } from "../../shared/gen/berth/v1/ArtifactUpload.js";
import type { MemberServiceClient } from "../../shared/gen/berth/v1/MemberService.js";
import type { MemberRecord } from "../member/group.js";
import { ArtifactError, SHA256, type ArtifactStore } from "./artifact-store.js";
import type { ServiceSpec } from "../../shared/spec/types.js";

/** No other member could take a copy of an upload: it is on this member only. */
export class ReplicationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplicationError";
  }
}

/**
 * The stored artifacts the services name, in their current revisions and the history an
 * undo may go back to: what every member must be able to serve. Pure.
 */
export function storedDigests(services: Iterable<{ spec: ServiceSpec; history?: { spec: ServiceSpec }[] }>): Set<string> {
  const out = new Set<string>();
  for (const s of services) {
    for (const spec of [s.spec, ...(s.history ?? []).map((h) => h.spec)]) {
      if (spec.artifact?.kind === "stored" && SHA256.test(spec.artifact.sha256)) out.add(spec.artifact.sha256);
    }
  }
  return out;
}

/** How often a member looks for stored artifacts it lacks (ArtifactReplicas.catchUp). */
export const CATCH_UP_EVERY_MS = 60_000;

/** Copies that make an upload safe to acknowledge, given the members live now (self included). */
export function copiesWanted(liveMembers: number): number {
  return Math.min(2, Math.max(1, liveMembers));
}

/**
 * How long one member may take to copy an artifact from another: a minute, plus the
 * size at 10 MB/s (a 2 GiB artifact: ~4.5 min). @example 50 MB → 65 s
 */
export function copyDeadlineMs(bytes: number): number {
  return 60_000 + Math.ceil(bytes / 10_000);
}

export interface ReplicaDeps {
  artifacts: ArtifactStore;
  /** Digests stored here (apply's synchronous check reads it): what ensure() stores is added. */
  known: Set<string>;
  /** This member's address, as the others reach it. */
  selfAddress: () => string;
  /** The other members registered now. */
  others: () => Promise<MemberRecord[]>;
  client: (address: string) => MemberServiceClient;
  log: Logger;
}

export class ArtifactReplicas {
  private readonly fetching = new Map<string, Promise<number | undefined>>();

  constructor(private readonly d: ReplicaDeps) {}

  /**
   * The artifact's size once it is stored here (fetched from `from` first, then from
   * any other member), or undefined when no member has it.
   */
  async ensure(sha256: string, o: { from?: string; size?: number } = {}): Promise<number | undefined> {
    if (!SHA256.test(sha256)) throw new ArtifactError(`not a sha256: ${sha256.slice(0, 80)}`);
    const here = await this.d.artifacts.size(sha256);
    if (here !== undefined) return here;
    let p = this.fetching.get(sha256);
    if (!p) {
      p = this.fetchFromAny(sha256, o).finally(() => this.fetching.delete(sha256));
      this.fetching.set(sha256, p);
    }
    return p;
  }

  /**
   * Fetches, one at a time, every digest of `wanted` this member lacks. An upload taken
   * while this member was down (or cut off) was copied to the members live then, and
   * only to them — with one member live, to none: without this, the loss of that member
   * would lose an artifact the services still name. Each member runs it at its start
   * and every CATCH_UP_EVERY_MS; returns how many it fetched. A digest no member has is
   * left (and said in the log); the next round tries again.
   */
  async catchUp(wanted: Iterable<string>): Promise<number> {
    let fetched = 0;
    for (const sha256 of wanted) {
      if (this.d.known.has(sha256)) continue;
      try {
        if ((await this.ensure(sha256)) !== undefined) fetched++;
        else this.d.log.warn({ sha256 }, "a service names an artifact no member holds");
      } catch (err) {
        this.d.log.warn({ sha256, err: err instanceof Error ? err.message : String(err) }, "catching up on an artifact failed; trying again later");
      }
    }
    return fetched;
  }

  /**
   * After an upload stored here: resolves once copiesWanted(live) members hold it,
   * asking every other member; the ones still copying go on in the background.
   * Rejects with ReplicationError when no other member could take it.
   */
  async replicate(sha256: string, size: number): Promise<{ copies: number; on: string[] }> {
    const others = await this.d.others();
    if (copiesWanted(others.length + 1) < 2) return { copies: 1, on: [] };
    const from = this.d.selfAddress();
    const failures: string[] = [];
    return new Promise((resolve, reject) => {
      let settled = false;
      let pending = others.length;
      for (const m of others) {
        this.ask(m.address, sha256, size, from).then(
          () => {
            if (settled) return this.d.log.debug({ sha256, member: m.id }, "artifact copied to a member in the background");
            settled = true;
            resolve({ copies: 2, on: [m.id] });
          },
          (err: unknown) => {
            const why = err instanceof Error ? ((err as { details?: string }).details ?? err.message) : String(err);
            failures.push(`${m.id}: ${why}`);
            this.d.log.warn({ sha256, member: m.id, err: why }, "a member could not take a copy of an artifact");
            if (--pending === 0 && !settled) {
              settled = true;
              reject(new ReplicationError(`no other member took a copy (${failures.sort().join("; ").slice(0, 400)})`));
            }
          },
        );
      }
    });
  }

  /** EnsureArtifact on the member at `address`, fetching from `from`. */
  private ask(address: string, sha256: string, size: number, from: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.d.client(address).EnsureArtifact({ sha256, size, from }, { deadline: Date.now() + copyDeadlineMs(size) }, (err, res) => {
        if (err) return reject(err);
        if (!res?.present) return reject(new ReplicationError("it could not find the artifact"));
        resolve();
      }),
    );
  }

  private async fetchFromAny(sha256: string, o: { from?: string; size?: number }): Promise<number | undefined> {
    const others = (await this.d.others()).map((m) => m.address);
    const order = [...new Set([...(o.from ? [o.from] : []), ...others])].filter((a) => a !== this.d.selfAddress());
    const errors: string[] = [];
    for (const address of order) {
      try {
        const size = await this.fetchFrom(address, sha256, o.size);
        if (size === undefined) continue;
        this.d.known.add(sha256);
        this.d.log.info({ sha256, size, from: address }, "artifact fetched from another member");
        return size;
      } catch (err) {
        // A bad copy (wrong digest or size, a refused archive) or a member lost mid-copy: try the next.
        const why = err instanceof Error ? ((err as { details?: string }).details ?? err.message) : String(err);
        errors.push(`${address}: ${why}`);
        this.d.log.warn({ sha256, from: address, err: why }, "fetching an artifact from another member failed");
      }
    }
    if (errors.length) throw new ArtifactError(`artifact ${sha256.slice(0, 12)} could not be fetched from another member (${errors.join("; ").slice(0, 400)})`);
    return undefined;
  }

  /** The artifact from the member at `address` into this store: its size, or undefined when that member has none. */
  private async fetchFrom(address: string, sha256: string, expectSize: number | undefined): Promise<number | undefined> {
    const call = this.d.client(address).FetchArtifact({ sha256 }, { deadline: Date.now() + copyDeadlineMs(expectSize ?? 2 * 1024 ** 3) });
    const it = (call as AsyncIterable<ArtifactUpload__Output>)[Symbol.asyncIterator]();
    let first: IteratorResult<ArtifactUpload__Output>;
    try {
      first = await it.next();
    } catch (err) {
      if ((err as { code?: number }).code === grpc.status.NOT_FOUND) return undefined;
      throw err;
    }
    if (first.done) throw new ArtifactError("the member sent nothing");
    const size = Number(first.value.size);
    if (first.value.sha256 !== sha256) throw new ArtifactError(`the member sent ${first.value.sha256.slice(0, 12) || "no digest"} for ${sha256.slice(0, 12)}`);
    if (expectSize !== undefined && expectSize !== size) throw new ArtifactError(`the member has ${size} bytes, ${expectSize} were asked for`);
    const head = first.value.data;
    async function* data(): AsyncIterable<Uint8Array> {
      yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value.data;
      }
    }
    try {
      // Verified as it streams: digest, size and the archive's entries (artifact-store.ts put).
      await this.d.artifacts.put(sha256, size, data());
    } finally {
      call.cancel();
    }
    return size;
  }
}
