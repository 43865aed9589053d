/**
 * The warning before any certificate expires: every host's, the controller's
 * serving certificate and its CA. A pure pass (which certificates are within
 * EXPIRY_WARNING_MS of their end and not yet warned about) and a thin timer that
 * appends the events, on the leader only, so a group warns once.
 *
 * "Warned about" is kept in the store, one key per certificate and state
 * (`pki/warned/<kind>:<serial>:<state>`), written in the txn of its event through
 * the leader's guarded store: a restarted controller or a new leader does not warn
 * twice about one certificate, a deposed leader writes neither, and two leaders
 * racing (one deposed a moment late) cannot both write the event (the key must
 * not exist). A renewed certificate has a new serial: it is warned about anew,
 * and the marks of certificates no longer watched are dropped.
 */
import type { EventLog, NewEvent } from "../events/event-log.js";
import type { Op, Store } from "../store/store.js";
import { encodeRecord } from "../store/record.js";
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

export const WARNED_PREFIX = "pki/warned/";

export interface ExpiryDeps {
  certs: () => WatchedCert[];
  now: () => number;
  /** Where the warnings go, each in one txn with its mark. */
  events: Pick<EventLog, "txn">;
  /** Read from: the marks already written. */
  store: Store;
  /** The leader's writes go through its term's store (leader/leadership.ts TermContext.writes). @default store */
  via?: Store;
  log: Logger;
}

/** One pass: warns about what is due and not yet marked, drops the marks of certificates gone. Returns how many warnings it wrote. */
export async function expiryPass(d: ExpiryDeps): Promise<number> {
  const via = d.via ?? d.store;
  const certs = d.certs();
  const marked = (await d.store.scan(WARNED_PREFIX)).map((kv) => kv.key.slice(WARNED_PREFIX.length));
  const { events, serials } = expiryWarnings(certs, d.now(), new Set(marked));
  let written = 0;
  for (const [i, e] of events.entries()) {
    const key = WARNED_PREFIX + serials[i]!;
    // Must not exist: a mark another leader wrote meanwhile means its event is written too.
    const res = await d.events.txn([{ key, modRevision: 0 }], [{ type: "put", key, value: encodeRecord({ atMs: d.now() }) }], [e], via);
    if (!res.succeeded) continue;
    written++;
    d.log.warn({ host: e.host, type: e.type }, e.message);
  }
  // Marks of certificates no longer watched (renewed, their host removed, a former leader's serving one).
  const watched = new Set(certs.map((c) => `${c.kind}:${c.serial}:`));
  const stale: Op[] = marked.filter((m) => !watched.has(m.slice(0, m.lastIndexOf(":") + 1))).map((m) => ({ type: "delete", key: WARNED_PREFIX + m }));
  if (stale.length) await via.txn([], stale);
  return written;
}

/**
 * Runs expiryPass now and then every checkEveryMs, and `also` after each (more of
 * the leader's certificate housekeeping: pruning revoked serials); returns the stop.
 */
export function watchExpiry(d: ExpiryDeps & { also?: (nowMs: number) => Promise<unknown>; checkEveryMs?: number }): () => void {
  const pass = async (): Promise<void> => {
    await expiryPass(d);
    await d.also?.(d.now());
  };
  const run = (): void => void pass().catch((err: unknown) => d.log.error({ err }, "certificate expiry check failed"));
  run();
  // Hourly by default: a day's warning needs no finer grain; short test certificates pass a shorter one.
  const timer = setIntervalClamped(run, d.checkEveryMs ?? 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
