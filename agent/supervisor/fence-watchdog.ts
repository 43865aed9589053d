/**
 * The fencing watchdog (see fence-lease.ts): `node fence-watchdog.js <lease> <record>`.
 * Reads the lease every WATCHDOG_CHECK_MS; exits when it is gone; past its
 * deadline (+ grace) stops the service the supervisor's record names, as the
 * agent's own fence would, leaves word of it for the next agent (fence-lease.ts
 * takeFencedMark), removes the lease and exits.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { rmSync } from "node:fs";
import { monoMs } from "../../shared/clock.js";
import { createLogger } from "../../shared/log/logger.js";
import { SELF_FENCED, WATCHDOG_CHECK_MS, WATCHDOG_FENCED, WATCHDOG_GRACE_MS } from "../../shared/fence.js";
import { leaseFiles, readLease, watchdogVerdict, writeFencedMark } from "./fence-lease.js";
import { Supervisor } from "./supervisor.js";

const [leaseFile, recordFile] = process.argv.slice(2);
if (!leaseFile || !recordFile) {
  process.stderr.write("usage: fence-watchdog <lease file> <supervisor record>\n");
  process.exit(2);
}
const log = createLogger("fence-watchdog").child({ lease: leaseFile });
// Its own session already; a SIGHUP from a closing terminal or the agent's group must not end it either.
process.on("SIGHUP", () => undefined);

log.info({ record: recordFile, pid: process.pid }, "watching the fencing lease");
let deadline: number | null = null;
for (;;) {
  const read = readLease(leaseFile);
  if (read !== "bad") deadline = read;
  const now = monoMs();
  const verdict = watchdogVerdict(deadline, now, WATCHDOG_GRACE_MS);
  if (verdict === "exit") {
    log.info("lease removed: the instance was stopped by its agent");
    break;
  }
  if (verdict === "fence") {
    log.warn({ lateMs: Math.round(now - deadline!) }, "lease expired without renewal (agent dead or hung): stopping the instance");
    const res = await Supervisor.adopt(recordFile, { log });
    if (res.adopted) {
      const end = await res.supervisor.stop();
      log.warn({ pid: res.record.pid, outcome: end.reason }, "self-fenced the instance");
      try {
        writeFencedMark(leaseFiles(recordFile).fencedMark, { detail: `${SELF_FENCED} ${WATCHDOG_FENCED}`, atMs: Date.now() });
      } catch (err) {
        log.warn({ err }, "could not leave word of the fence for the next agent");
      }
    } else log.info({ reason: res.reason }, "nothing left to stop");
    rmSync(leaseFile, { force: true });
    break;
  }
  await sleep(WATCHDOG_CHECK_MS);
}
