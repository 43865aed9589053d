/**
 * The fencing protocol (DESIGN.md, "Epochs and fencing"), beside the failure
 * detector it feeds: a host back from the dead may still run a copy that was
 * replaced meanwhile. Its Hello says what it runs; every superseded copy is
 * *fencing* — the host is sent "none" for it and stays out of ready (the detector's
 * `fenced` input) until it reports that copy stopped or failed.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { NewEvent } from "../events/event-log.js";

/** A copy a host says it runs (Hello.running). */
export interface RunningCopy {
  instance: string;
  epoch: number;
}

/** At most this many running copies of a Hello are looked at: a host runs one instance, a few during a move. */
const MAX_RUNNING = 16;

/**
 * The copies among `running` that the records no longer give this host: the
 * host's fencing set. Pure: `superseded` answers from the records.
 */
export function fencingSet(running: readonly RunningCopy[], superseded: (instance: string, epoch: number) => boolean): Set<string> {
  return new Set(running.slice(0, MAX_RUNNING).filter((r) => superseded(r.instance, r.epoch)).map((r) => r.instance.slice(0, 80)));
}

/** The events (and log lines) that say a host is being fenced. */
export async function announceFencing(hostId: string, fencing: ReadonlySet<string>, running: readonly RunningCopy[], log: Logger, append: (ev: NewEvent) => Promise<unknown>): Promise<void> {
  for (const r of fencing) {
    const epoch = running.find((x) => x.instance === r)?.epoch ?? 0;
    log.warn({ instance: r, epoch }, "host runs a superseded copy: stopping it before the host is ready");
    await append({ type: "host.fencing", host: hostId, message: `stopping superseded ${r} (epoch ${epoch}) before the host counts as ready` });
  }
}

/**
 * A status report: a fenced copy that stopped (or failed) leaves the fencing set.
 * Returns true when it did, so the detector runs again (the host may be ready now).
 */
export async function fencedCopyStopped(
  hostId: string,
  fencing: Set<string>,
  st: { instance: string; epoch: number; state: string },
  append: (ev: NewEvent) => Promise<unknown>,
): Promise<boolean> {
  if (!fencing.has(st.instance) || (st.state !== "stopped" && st.state !== "failed")) return false;
  fencing.delete(st.instance);
  await append({ type: "host.fenced", host: hostId, message: `superseded ${st.instance} (epoch ${st.epoch}) stopped` });
  return true;
}
