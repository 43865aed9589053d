// A stop waits for the process group to empty. Polling /proc alone notices an exit
// only at the next poll (up to POLL_MS late, on every step of a rollout): the
// leader's exit event wakes the wait at once.
import { describe, expect, it } from "vitest";
import { emptyGroup, pollUntil, STRAGGLER_SCAN_MS, type GroupProbe } from "../../../agent/supervisor/process-group.js";

describe("pollUntil", () => {
  it("looks again the moment `wake` settles, not at the next poll", async () => {
    let exited = false;
    let looks = 0;
    // The exit event, as the supervisor's child "exit" gives it.
    const wake = new Promise<void>((resolve) =>
      setTimeout(() => {
        exited = true;
        resolve();
      }, 100),
    );
    const gone = await pollUntil(
      () => {
        looks++;
        return exited;
      },
      10_000,
      // A poll far off: only the wake can explain a second look within the test.
      { wake, pollMs: 60_000 },
    );
    expect(gone).toBe(true);
    // Once before the wait, once on the wake: no look in between was needed.
    expect(looks).toBe(2);
  });

  it("keeps polling after a wake that left members behind (a child of the leader still running)", async () => {
    let looks = 0;
    const gone = await pollUntil(() => ++looks >= 4, 10_000, { wake: Promise.resolve(), pollMs: 1 });
    expect(gone).toBe(true);
    expect(looks).toBe(4);
  });

  it("still gives up after timeoutMs", async () => {
    await expect(pollUntil(() => false, 60, { wake: new Promise<void>(() => undefined) })).resolves.toBe(false);
  });
});

// A rollout stops one process per step, and every scan of /proc is a read of every
// process's stat file: ~2 ms per hundred processes on a quiet host, tens of ms on a
// loaded one, and the agent's loop is blocked meanwhile. The stop signal must not wait
// behind a scan when the leader is known to run, and the wait must not scan again
// before anything could have exited.
describe("emptyGroup", () => {
  const LEADER = 4242;
  const START = 777;
  const CGROUP = { kind: "v1" as const, dirs: ["/sys/fs/cgroup/cpu/berth/web-0-00000000", "/sys/fs/cgroup/memory/berth/web-0-00000000"] };
  const STRAY = 5151;
  /**
   * A fake /proc: the leader runs until the stop signal, then exits leaderExitMs later (the
   * exit event); each scan is logged. stray: a child that moved to a group of its own in the
   * leader's session, which only a scan finds; it exits 5 ms after its own signal.
   */
  function fakeGroup(o: { leaderStartTime: number; zombie?: boolean; leaderExitMs?: number; stray?: boolean; strayIgnoresTerm?: boolean; exitRejects?: boolean }) {
    const log: string[] = [];
    const t0 = performance.now();
    const at: Record<string, number> = {};
    let running = true;
    let strayRunning = o.stray === true;
    let exit!: () => void;
    const exited = new Promise<void>((resolve, reject) => (exit = o.exitRejects ? () => reject(new Error("no exit status")) : resolve));
    // Unhandled until emptyGroup takes it: not a failure of the test.
    exited.catch(() => undefined);
    const probe: GroupProbe = {
      members: () => {
        log.push("scan");
        return [...(running ? [LEADER] : []), ...(strayRunning ? [STRAY] : [])];
      },
      cgroupMembers: () => {
        log.push("cgroup");
        return running ? [LEADER] : [];
      },
      // A zombie (a child the leader left, not yet reaped) is still in the group to kill(2).
      groupExists: () => {
        log.push("pgid?");
        return running || o.zombie === true;
      },
      stat: (pid) =>
        pid === LEADER && running
          ? { pid, comm: "python3", state: "S", ppid: 1, pgid: LEADER, sid: LEADER, startTime: o.leaderStartTime }
          : pid === STRAY && strayRunning
            ? { pid, comm: "worker", state: "S", ppid: LEADER, pgid: STRAY, sid: LEADER, startTime: o.leaderStartTime + 5 }
            : undefined,
      signal: (pid, sig) => {
        log.push(`kill ${pid} ${sig}`);
        at[`kill ${pid} ${sig}`] ??= performance.now() - t0;
        if (pid === -LEADER && running) {
          // The exit arrives a moment later, as the child's exit event does.
          setTimeout(() => {
            running = false;
            at.leaderExit = performance.now() - t0;
            exit();
          }, o.leaderExitMs ?? 5);
        }
        if (pid === STRAY && strayRunning && (sig === "SIGKILL" || !o.strayIgnoresTerm)) setTimeout(() => (strayRunning = false), 5);
        return true;
      },
    };
    return { log, at, exited, probe };
  }

  it("signals the group before any scan of /proc when the leader runs with its recorded start time, and scans once after the exit", async () => {
    const g = fakeGroup({ leaderStartTime: START });
    const r = await emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: false, survivors: [] });
    // kill(-pgid) first; then, once the exit event is in, one scan: nobody outside the group, nobody left.
    expect(g.log).toEqual([`kill -${LEADER} SIGTERM`, "scan"]);
  });

  it("without a cgroup, a member that left the group gets the stop signal from that one scan, once, and the wait goes on until it is gone", async () => {
    const g = fakeGroup({ leaderStartTime: START, stray: true });
    const r = await emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: false, survivors: [] });
    // Signalled once (a second SIGTERM means "hurry up" to some programs); the next look a poll later, when it is gone.
    expect(g.log).toEqual([`kill -${LEADER} SIGTERM`, "scan", `kill ${STRAY} SIGTERM`, "scan"]);
  });

  it("without a cgroup, the scan comes with the exit event, not after STRAGGLER_SCAN_MS", async () => {
    const g = fakeGroup({ leaderStartTime: START, leaderExitMs: 1 });
    // Due when the scan would come without the exit event to wake it: timers fire in the order they are due.
    let late = false;
    setTimeout(() => (late = true), STRAGGLER_SCAN_MS);
    const stop = emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    let scannedLate: boolean | undefined;
    const members = g.probe.members;
    g.probe.members = (ref) => {
      scannedLate ??= late;
      return members(ref);
    };
    await stop;
    expect(scannedLate).toBe(false);
  });

  it("without a cgroup, a member outside the group gets its whole grace from its own signal before SIGKILL", async () => {
    const g = fakeGroup({ leaderStartTime: START, stray: true, strayIgnoresTerm: true });
    const r = await emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 40, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: true, survivors: [] });
    // A millisecond of timer rounding either way.
    expect(g.at[`kill ${STRAY} SIGKILL`]! - g.at[`kill ${STRAY} SIGTERM`]!).toBeGreaterThanOrEqual(39);
  });

  it("an exit event that fails (no status) still lets the stop go on: no throw, the group emptied", async () => {
    const g = fakeGroup({ leaderStartTime: START, exitRejects: true });
    const r = await emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: false, survivors: [] });
    expect(g.log).toEqual([`kill -${LEADER} SIGTERM`, "scan"]);
  });

  it("without a cgroup, a leader slow to exit does not hold up the stop signal of the members outside the group", async () => {
    const g = fakeGroup({ leaderStartTime: START, stray: true, leaderExitMs: 300 });
    const r = await emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: false, survivors: [] });
    // STRAGGLER_SCAN_MS after the group's signal, well before the leader's exit.
    expect(g.at[`kill ${STRAY} SIGTERM`]).toBeLessThan(g.at.leaderExit! - 100);
    expect(g.log.filter((l) => l.startsWith("kill"))).toEqual([`kill -${LEADER} SIGTERM`, `kill ${STRAY} SIGTERM`]);
  });

  it("with a cgroup, scans /proc not at all: the cgroup's pids and kill(-pgid, 0) say who is left", async () => {
    const g = fakeGroup({ leaderStartTime: START });
    const r = await emptyGroup({ pgid: LEADER, cgroup: CGROUP }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: false, survivors: [] });
    // kill(-pgid); the cgroup for members outside the group (the leader is inside it); after the exit, the cgroup and the group.
    expect(g.log).toEqual([`kill -${LEADER} SIGTERM`, "cgroup", "cgroup", "pgid?"]);
  });

  it("with a cgroup, still scans while kill(-pgid, 0) finds someone in the group, since a zombie is no member", async () => {
    const g = fakeGroup({ leaderStartTime: START, zombie: true });
    const r = await emptyGroup({ pgid: LEADER, cgroup: CGROUP }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(r).toEqual({ forced: false, survivors: [] });
    expect(g.log).toEqual([`kill -${LEADER} SIGTERM`, "cgroup", "cgroup", "pgid?", "scan"]);
  });

  it("scans first when the pid now names another process (another start time): never signals a group it cannot vouch for", async () => {
    const g = fakeGroup({ leaderStartTime: START + 1 });
    await emptyGroup({ pgid: LEADER, cgroup: null }, "SIGTERM", 5_000, { exited: g.exited, leaderStartTime: START, probe: g.probe });
    expect(g.log[0]).toBe("scan");
  });
});
