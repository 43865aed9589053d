/**
 * The warning before any certificate expires: every host's, the controller's
 * serving certificate and its CA. A pure pass (which certificates are within
 * EXPIRY_WARNING_MS of their end and not yet warned about) and a thin timer that
 * appends the events, on the leader only, so a group warns once.
 *
 * "Warned about" is kept in memory by serial: a new leader (or a restarted
 * controller) warns once more about a certificate still close to its end, which
 * is the point of a warning.
 */
import type { NewEvent } from "../events/event-log.js";
import { EXPIRY_WARNING_MS, expiryState } from "../../shared/tls/cert-life.js";
import { setIntervalClamped } from "../../shared/timer.js";
import { formatDurationMs } from "../../shared/duration.js";
import type { Logger } from "../../shared/log/logger.js";

export interface WatchedCert {
  kind: "host" | "server" | "ca";
  /** The host id, or the controller's own name for server/ca. */
  name: string;
  serial: string;
  notAfterMs: number;
  /** How close to its end it is warned about. @default EXPIRY_WARNING_MS (7 days) */
  warnMs?: number;
}

const WHAT: Record<WatchedCert["kind"], string> = { host: "the certificate of host", server: "the controller's serving certificate", ca: "the controller's CA" };

/** How a certificate close to its end is put right, for the event's message. */
function remedy(c: WatchedCert): string {
  switch (c.kind) {
    case "host":
      return "its agent renews it while connected: check that the agent runs and reaches the controller";
    case "server":
      return "restart the controller: it issues itself a new one at every start";
    case "ca":
      return "rotate the CA before it ends";
  }
}

/**
 * How close to its end a host certificate is warned about: 7 days, or a quarter of
 * a shorter lifetime — else with `--cert-ttl 1d` every certificate would be
 * "expiring" from its first second. Either way past the renewal moment (2/3).
 */
export function hostWarnMs(certTtlMs: number): number {
  return Math.min(EXPIRY_WARNING_MS, Math.floor(certTtlMs / 4));
}

/** The events to append now, and the serials they cover (to remember). */
export function expiryWarnings(certs: readonly WatchedCert[], nowMs: number, warned: ReadonlySet<string>): { events: NewEvent[]; serials: string[] } {
  const events: NewEvent[] = [];
  const serials: string[] = [];
  for (const c of certs) {
    const state = expiryState(c.notAfterMs, nowMs, c.warnMs ?? EXPIRY_WARNING_MS);
    // Once per certificate and state: "expiring", then (if nothing was done) "expired".
    const key = `${c.kind}:${c.serial}:${state}`;
    if (state === "valid" || warned.has(key)) continue;
    serials.push(key);
    const at = new Date(c.notAfterMs).toISOString();
    const subject = c.kind === "host" ? `${WHAT.host} ${c.name}` : WHAT[c.kind];
    events.push({
      type: state === "expired" ? "cert.expired" : "cert.expiring",
      ...(c.kind === "host" ? { host: c.name } : {}),
      message: state === "expired" ? `${subject} expired at ${at}` : `${subject} expires at ${at} (within ${formatDurationMs(c.warnMs ?? EXPIRY_WARNING_MS)}): ${remedy(c)}`,
    });
  }
  return { events, serials };
}

/** Runs expiryWarnings now and then every checkEveryMs; returns the stop. */
export function watchExpiry(d: { certs: () => WatchedCert[]; now: () => number; append: (e: NewEvent) => Promise<unknown>; log: Logger; checkEveryMs?: number }): () => void {
  const warned = new Set<string>();
  const pass = async (): Promise<void> => {
    const { events, serials } = expiryWarnings(d.certs(), d.now(), warned);
    for (const s of serials) warned.add(s);
    for (const e of events) {
      d.log.warn({ host: e.host, type: e.type }, e.message);
      await d.append(e);
    }
  };
  const run = (): void => void pass().catch((err: unknown) => d.log.error({ err }, "certificate expiry check failed"));
  run();
  // Hourly by default: a day's warning needs no finer grain; short test certificates pass a shorter one.
  const timer = setIntervalClamped(run, d.checkEveryMs ?? 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
