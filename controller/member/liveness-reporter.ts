/**
 * The member side of liveness in a controller group (failure/liveness.ts): every
 * reportMs, one put of `liveness/<member>` with the hosts whose streams this
 * member holds and their heartbeat ages. Its key is its own, so no
 * compare-and-set is needed; on a clean stop it is deleted. A host removed
 * (`berth host remove`) is left out of a report written at once, not a period
 * later. (The last report of a member that died still names what it held; it is
 * not rewritten by another member: a write would stamp it as received afresh and
 * make its hosts look heard from — the detector skips hosts that have no record.)
 */
import type { Logger } from "../../shared/log/logger.js";
import type { Store } from "../store/store.js";
import type { HostRegistry } from "../hosts/registry.js";
import { buildReport, livenessKey } from "../failure/liveness.js";
import { encodeRecord } from "../store/record.js";
import { setIntervalClamped } from "../../shared/timer.js";

/** etcd refuses a value over 1.5 MiB: a report keeps well below it. */
export const REPORT_USAGE_LIMIT_BYTES = 1024 * 1024;

export class LivenessReporter {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private writing: Promise<void> = Promise.resolve();
  private warnedSize = false;
  private readonly usageLimitBytes: number;

  constructor(
    private readonly d: {
      store: Store;
      registry: Pick<HostRegistry, "live" | "onChange">;
      member: string;
      mono: () => number;
      /** Wall clock, for when a host's stream began. @default Date.now */
      now?: () => number;
      reportMs: number;
      /** How long a host whose stream ended here is still reported, marked `left` (failure/liveness.ts). @default 0 */
      keepLeftMs?: number;
      /** How long this member stalled after a time (member/stall-watch.ts): left out of its hosts' ages. */
      stalledSince?: (mono: number) => number;
      log: Logger;
      /** A report larger than this goes without the hosts' usage. @default REPORT_USAGE_LIMIT_BYTES */
      usageLimitBytes?: number;
    },
  ) {
    this.usageLimitBytes = d.usageLimitBytes ?? REPORT_USAGE_LIMIT_BYTES;
  }

  start(): void {
    this.timer ??= setIntervalClamped(() => void this.report(), this.d.reportMs);
    // Removed: member/host-changes.ts has closed its stream and dropped it from `live` (it subscribed first).
    this.unsubscribe ??= this.d.registry.onChange((prev, next) => (prev && !next ? void this.report() : undefined));
    void this.report();
  }

  /** Writes one report now (a write still running is waited for: never two at once). */
  report(): Promise<void> {
    const run = async (): Promise<void> => {
      const r = buildReport(this.d.member, this.d.registry, this.d.mono(), this.d.keepLeftMs, this.d.stalledSince, (this.d.now ?? Date.now)());
      let value = encodeRecord(r);
      // Usage is for display; liveness is what must get through: past the limit, the same report goes without it.
      if (Buffer.byteLength(value) > this.usageLimitBytes) {
        value = encodeRecord({ ...r, hosts: r.hosts.map(({ usage: _usage, ...h }) => h) });
        if (!this.warnedSize) this.d.log.warn({ bytes: Buffer.byteLength(value), limit: this.usageLimitBytes }, "this member holds so many streams that its liveness reports leave out the hosts' usage: the other members show none for its hosts");
        this.warnedSize = true;
      }
      await this.d.store.put(livenessKey(this.d.member), value);
    };
    this.writing = this.writing.then(run).catch((err: unknown) => this.d.log.warn({ err }, "writing the liveness report failed"));
    return this.writing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.writing;
    await this.d.store.delete(livenessKey(this.d.member)).catch(() => undefined);
  }
}
