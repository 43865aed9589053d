// The converger with fake steps: self-fencing measured on the monotonic clock
// (a wall clock stepped back must not delay it), and malformed assignments
// refused with a report instead of thrown into the stream's listener.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Converger, fenceDue, type Desired, type RunEvents, type RunHandle, type Steps } from "../../../agent/converge/converger.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { InstanceStatus } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import type { Assignment__Output } from "../../../shared/gen/berth/v1/Assignment.js";
import { until } from "../until.js";
import { RunAsError } from "../../../agent/runas/service-user.js";
import { resolveUser } from "../../../agent/supervisor/proc.js";
import { maskSecrets, type SecretMaterial } from "../../../agent/secrets/material.js";

const log = createLogger("test", "silent");

function fakeSteps(): Steps & { started: Desired[]; stops: number; leases: number[] } {
  const s = {
    started: [] as Desired[],
    stops: 0,
    /** Every lease deadline the converger renewed, in order. */
    leases: [] as number[],
    runAs: async () => ({ user: "" }),
    fetch: async () => null,
    install: async () => undefined,
    start: async (d: Desired, _cwd: string, _env: Record<string, string>, events: { onRunning(): void }): Promise<RunHandle> => {
      s.started.push(d);
      // Running once the converger holds the handle, as a real process reports it.
      setImmediate(() => events.onRunning());
      return {
        pid: () => 4242,
        restarts: () => 0,
        resources: () => ({ enforced: false, note: "" }),
        stop: async () => void s.stops++,
        tail: async () => "",
        follow: () => ({ close: () => undefined, pause: () => undefined, resume: () => undefined }),
        close: () => undefined,
        renewLease: (deadlineMono: number) => void s.leases.push(deadlineMono),
      };
    },
    adopt: async () => undefined,
    health: () => ({ stop: () => undefined }),
    installLog: async () => "",
    stopOthers: async () => [],
  };
  return s;
}

function assignment(spec: Record<string, unknown>, over: Partial<Assignment__Output> = {}): Assignment__Output {
  return { service: "web", instance: "web-0", epoch: 3, revision: 2, spec_json: JSON.stringify(spec), secrets: [], ...over };
}

const goodSpec = (stopAfterDisconnect = "0s"): Record<string, unknown> =>
  normalizeSpec({ name: "web", run: { command: "/bin/true" }, failover: { stopAfterDisconnect } }) as unknown as Record<string, unknown>;

let dataDir: string;
let conv: Converger | undefined;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "berth-conv-"));
});
afterEach(async () => {
  await conv?.shutdown();
  conv = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

describe("self-fencing", () => {
  it("is due after stopAfterDisconnect of monotonic silence, not before", () => {
    expect(fenceDue(3000, 1000, 3999)).toBe(false);
    expect(fenceDue(3000, 1000, 4000)).toBe(false);
    expect(fenceDue(3000, 1000, 4001)).toBe(true);
    expect(fenceDue(0, 1000, 1e9)).toBe(false);
  });

  it("fires on time when the wall clock steps back an hour (NTP)", async () => {
    const T = 1_000_000_000;
    // Both clocks agree until the step; the monotonic one never jumps.
    let wall = T;
    let mono = T;
    // Each fence check reads a clock: counting reads waits for checks without sleeping.
    let clockReads = 0;
    const contact = T;
    const steps = fakeSteps();
    const reports: InstanceStatus[] = [];
    conv = new Converger({
      dataDir,
      advertiseAddr: () => "127.0.0.1",
      log,
      steps,
      report: (s) => reports.push(s),
      now: () => {
        clockReads++;
        return wall;
      },
      mono: () => {
        clockReads++;
        return mono;
      },
      lastContactMs: () => contact,
    });
    conv.assign(assignment(goodSpec("3s")));
    await until(() => steps.started.length === 1 && reports.at(-1)?.state === "healthy", "the instance to run");

    // NTP steps the wall clock back one hour; 2.9 s pass on both clocks.
    wall = T - 3_600_000 + 2_900;
    mono = T + 2_900;
    const seen = clockReads;
    await until(() => clockReads > seen + 3, "a few fence checks");
    expect(steps.stops).toBe(0); // not yet: 2.9 s < 3 s

    wall = T - 3_600_000 + 3_100;
    mono = T + 3_100;
    await until(() => steps.stops === 1, "the self-fence to stop the instance", 5_000);
    await until(() => reports.at(-1)?.state === "stopped", "the stopped report");
    expect(reports.at(-1)?.detail).toMatch(/self-fenced: no word from the controller for 3\.1s/);
  });

  /**
   * A converger fenced after 3 s without word (stopAfterDisconnect), on clocks the test moves:
   * `mono`, and `contact`, the controller's last answer. With `readPast`, its callbacks are kept in
   * `readers`, to run as the controller's reads. connect() is a reconnect: what reportNow() says.
   */
  function fencing(o: { readPast?: boolean } = {}) {
    const T = 1_000_000_000;
    const f = { T, mono: T, contact: T, steps: fakeSteps(), reports: [] as InstanceStatus[], readers: [] as (() => void)[] };
    const c = new Converger({
      dataDir,
      advertiseAddr: () => "127.0.0.1",
      log,
      steps: f.steps,
      report: (s) => f.reports.push(s),
      mono: () => f.mono,
      lastContactMs: () => f.contact,
      ...(o.readPast ? { readPast: (cb: () => void) => f.readers.push(cb) } : {}),
    });
    conv = c;
    const connect = (): InstanceStatus[] => {
      f.reports.length = 0;
      c.reportNow();
      return [...f.reports];
    };
    /** Runs the instance, then lets 3.1 s pass without word: the fence stops it. */
    const runThenFence = async (at: number, what: string): Promise<void> => {
      await until(() => f.reports.at(-1)?.state === "healthy", `${what}: the instance to run`);
      f.mono = at;
      await until(() => f.reports.at(-1)?.state === "stopped", `${what}: the self-fence's stopped report`);
    };
    return { f, conv: c, connect, runThenFence };
  }

  it("says the copy stopped itself again on each reconnect, since it said so to nobody, until the next assignment", async () => {
    const { f, conv, connect, runThenFence } = fencing();
    conv.assign(assignment(goodSpec("3s")));
    await until(() => f.steps.started.length === 1, "the instance to start");
    await runThenFence(f.T + 3_100, "fence");
    // That report went out while the controller was out of reach. The agent reconnects:
    f.mono = f.T + 10_000;
    const reports = connect();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ instance: "web-0", epoch: 3, state: "stopped" });
    expect(reports[0]!.detail).toMatch(/^self-fenced: no word from the controller for 3\.1s/);
    // Its age runs on from the stop, on the agent's own clock.
    expect(reports[0]!.age_ms).toBeGreaterThanOrEqual(6_900);
    // The controller answers with its assignment (none here: the slot moved): no more.
    conv.assign(assignment(goodSpec("3s"), { service: "", instance: "", epoch: 0, spec_json: "" }));
    expect(connect()).toHaveLength(0);
  });

  // Seen in CI (failover.test.ts, a one-way partition): the agent reconnected, said the copy
  // stopped itself, and was given its assignment, on a stream the controller closed 3 ms later,
  // before it read the report; the next connect said nothing, and the event never came.
  it("with readPast, says the copy stopped itself at each connect until the controller has read it, assignment or not", async () => {
    const { f, conv, connect, runThenFence } = fencing({ readPast: true });
    conv.assign(assignment(goodSpec("3s")));
    await until(() => f.steps.started.length === 1, "the instance to start");
    await runThenFence(f.T + 3_100, "fence");
    // Said on a stream that was up as far as the agent knew; that stream ends unread (its readers are dropped).
    f.readers.length = 0;
    f.mono = f.T + 10_000;
    expect(connect().map((r) => [r.state, r.detail?.slice(0, 12)])).toEqual([["stopped", "self-fenced:"]]);
    // The assignment comes on that connect's stream, which ends before the controller reads the report.
    conv.assign(assignment(goodSpec("3s"), { service: "", instance: "", epoch: 0, spec_json: "" }));
    f.readers.length = 0;
    expect(connect().map((r) => [r.state, r.detail?.slice(0, 12)])).toEqual([["stopped", "self-fenced:"]]);
    // This time the controller reads it (it answers a later heartbeat): never said again.
    expect(f.readers).toHaveLength(1);
    f.readers[0]!();
    expect(connect()).toEqual([]);
  });

  it("with readPast, a stop is moot once the same instance runs here again, and an old read forgets no newer stop", async () => {
    const { f, conv, connect, runThenFence } = fencing({ readPast: true });
    const said = (): unknown[][] => connect().map((r) => [r.state, r.epoch, r.state === "stopped" ? (r.detail?.slice(0, 12) ?? "") : ""]);
    conv.assign(assignment(goodSpec("3s")));
    await until(() => f.steps.started.length === 1, "the instance to start");
    await runThenFence(f.T + 3_100, "the first self-fence");
    const old = [...f.readers];
    // The controller answers and gives this host the same instance again (its epoch 4): the old stop is moot.
    f.mono = f.T + 5_000;
    f.contact = f.mono;
    conv.assign(assignment(goodSpec("3s"), { epoch: 4 }));
    await until(() => f.steps.started.length === 2 && f.reports.at(-1)?.state === "healthy", "the instance to run again");
    expect(said()).toEqual([["healthy", 4, ""]]);
    // Fenced again: the new stop is said at each connect, and a read that answers for the old one forgets nothing.
    f.mono = f.T + 8_200;
    await until(() => f.reports.at(-1)?.state === "stopped" && f.reports.at(-1)?.epoch === 4, "the second self-fence");
    for (const cb of old) cb();
    expect(said()).toEqual([["stopped", 4, "self-fenced:"]]);
  });
});

describe("an assignment while the controller's last answer is older than stopAfterDisconnect", () => {
  it("waits pending, says why, and starts once an answer comes", async () => {
    const mono = 10_000;
    let contact = 5_000;
    // Each fence check reads the clock: counting reads waits for checks without sleeping.
    let reads = 0;
    const steps = fakeSteps();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), mono: () => (reads++, mono), lastContactMs: () => contact });
    conv.assign(assignment(goodSpec("3s")));
    await until(() => reports.length > 0, "a report");
    expect(reports.at(-1)).toMatchObject({ instance: "web-0", epoch: 3, state: "pending", detail: "waiting for word from the controller: last heard 5.0s ago (stopAfterDisconnect 3s)" });
    const n = reports.length;
    const seen = reads;
    await until(() => reads > seen + 3, "a few fence checks");
    expect(steps.started).toHaveLength(0);
    expect(reports.length).toBe(n);
    // A heartbeat is answered: it starts.
    contact = 10_000;
    await until(() => steps.started.length === 1 && reports.at(-1)?.state === "healthy", "the instance to run");
  });

  it("is dropped when the stream it came on ends before an answer", async () => {
    // Fence checks on a fake interval: advancing it runs them, and a pass they kick reports at once.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const mono = 10_000;
      let contact = 5_000;
      const steps = fakeSteps();
      const reports: InstanceStatus[] = [];
      const c = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), mono: () => mono, lastContactMs: () => contact });
      conv = c;
      c.assign(assignment(goodSpec("3s")));
      await until(() => reports.at(-1)?.detail?.startsWith("waiting for word") === true, "the held report");
      c.disconnected();
      // The next stream's Welcome counts: what the old stream gave is not started on it; its own assignment is.
      contact = 10_000;
      const seen = reports.length;
      vi.advanceTimersByTime(500);
      expect(reports.length).toBe(seen);
      c.assign(assignment(goodSpec("3s"), { epoch: 4 }));
      await until(() => steps.started.length === 1, "the next stream's assignment to start");
      expect(steps.started.map((d) => d.epoch)).toEqual([4]);
    } finally {
      await conv?.shutdown();
      conv = undefined;
      vi.useRealTimers();
    }
  });

  it("a fence while the copy is being prepared reports it stopped, with the reason", async () => {
    let mono = 5_000;
    const contact = 5_000;
    const steps = fakeSteps();
    // An install that runs until it is aborted, as the real one is (its process killed).
    steps.install = (_spec, _dir, _out, signal) => new Promise<void>((_resolve, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), mono: () => mono, lastContactMs: () => contact });
    conv.assign(assignment(goodSpec("3s")));
    await until(() => reports.at(-1)?.state === "installing", "the install to begin");
    mono = 8_100;
    await until(() => reports.at(-1)?.state === "stopped", "the stopped report", 5_000);
    expect(reports.at(-1)?.detail).toMatch(/^self-fenced: no word from the controller for 3\.1s/);
    expect(steps.started).toHaveLength(0);
    // Said while the controller was out of reach: said again on the reconnect.
    reports.length = 0;
    conv.reportNow();
    expect(reports.map((r) => [r.state, r.detail?.slice(0, 12)])).toEqual([["stopped", "self-fenced:"]]);
  });
});

describe("the fencing lease", () => {
  it("is renewed to last contact + stopAfterDisconnect while the controller answers, and no more once fenced", async () => {
    let mono = 5_000;
    let contact = 5_000;
    const steps = fakeSteps();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), mono: () => mono, lastContactMs: () => contact });
    conv.assign(assignment(goodSpec("3s")));
    await until(() => steps.leases.includes(8_000), "the first lease");
    contact = 6_000;
    mono = 6_000;
    await until(() => steps.leases.includes(9_000), "the lease renewed at the next contact");
    mono = 9_001;
    await until(() => steps.stops === 1, "the self-fence");
    const n = steps.leases.length;
    mono = 9_500;
    await until(() => reports.at(-1)?.state === "stopped", "the stopped report");
    expect(steps.leases.length).toBe(n);
    expect(Math.max(...steps.leases)).toBe(9_000);
  });
});

describe("a malformed assignment", () => {
  const bad: [string, Assignment__Output, RegExp][] = [
    ["spec_json that is not JSON", assignment({}, { spec_json: "{not json" }), /spec_json: not JSON/],
    ["a spec without run", assignment({ ...goodSpec(), run: undefined }), /spec_json: run: /],
    ["a spec with a bad signal", assignment({ ...goodSpec(), run: { ...(goodSpec().run as object), stopSignal: "SIGNOPE" } }), /spec_json: run\.stopSignal/],
    ["a spec of another service", assignment({ ...goodSpec(), name: "db" }), /spec_json: name: "db" is not the assigned service web/],
  ];
  for (const [what, a, reason] of bad) {
    it(`is refused and reported, not thrown: ${what}`, async () => {
      const steps = fakeSteps();
      const reports: InstanceStatus[] = [];
      conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
      expect(() => conv!.assign(a)).not.toThrow();
      await until(() => reports.some((r) => r.state === "failed"), "the refusal report");
      const r = reports.find((x) => x.state === "failed")!;
      expect(r).toMatchObject({ service: "web", instance: "web-0", epoch: 3, revision: 2 });
      expect(r.detail).toMatch(/^assignment refused by the agent: /);
      expect(r.detail).toMatch(reason);
      expect(steps.started).toEqual([]);
      // Level-triggered: said again after a reconnect.
      reports.length = 0;
      conv.reportNow();
      expect(reports.map((x) => x.state)).toEqual(["failed"]);
      // And the agent goes on: a good assignment afterwards runs.
      conv.assign(assignment(goodSpec()));
      await until(() => steps.started.length === 1, "the good assignment to start");
    });
  }

  it("stops what ran, since the controller wants something else, and leaves the refusal as the last word", async () => {
    const steps = fakeSteps();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    conv.assign(assignment(goodSpec()));
    await until(() => reports.at(-1)?.state === "healthy", "the first instance to run");
    conv.assign(assignment({ ...goodSpec(), run: 7 }, { epoch: 4 }));
    await until(() => steps.stops === 1 && reports.at(-1)?.state === "failed", "the old one stopped and the refusal reported");
    expect(reports.at(-1)).toMatchObject({ instance: "web-0", epoch: 4 });
    expect(conv.runningNow()).toEqual([]);
  });

  it("with names the controller would not accept is logged and not reported", async () => {
    const steps = fakeSteps();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    expect(() => conv!.assign(assignment(goodSpec(), { instance: "x".repeat(500) }))).not.toThrow();
    conv.reportNow();
    expect(reports).toEqual([]);
  });
});

describe("an agent stopping with its service (--stop-services-on-exit)", () => {
  it("says 'stopping' before it stops the process, while its session can still carry it", async () => {
    const steps = fakeSteps();
    const order: string[] = [];
    const stop = steps.start;
    steps.start = async (d, cwd, env, ev) => {
      const h = await stop(d, cwd, env, ev);
      return { ...h, stop: async () => void order.push("process stopped") };
    };
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => order.push(`report ${s.state}`), lastContactMs: () => Date.now() });
    conv.assign(assignment(goodSpec()));
    await until(() => order.at(-1) === "report healthy", "the instance to run");
    await conv.shutdown({ stopService: true });
    conv = undefined;
    expect(order.slice(-2)).toEqual(["report stopping", "process stopped"]);
  });
});

describe("a crash-looping process", () => {
  it("says how it exits while restarting, and ends failed with the exit and its last output lines", async () => {
    const steps = fakeSteps();
    let events: RunEvents | undefined;
    const start = steps.start;
    steps.start = async (d, cwd, env, ev) => {
      events = ev;
      const h = await start(d, cwd, env, ev);
      return { ...h, tail: async (n: number) => ["booting", "loading config", "panic: no such file: /etc/app.conf"].slice(-n).join("\n") + "\n" };
    };
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), lastContactMs: () => Date.now() });
    conv.assign(assignment(goodSpec()));
    await until(() => events !== undefined && reports.at(-1)?.state === "healthy", "the instance to run");

    events!.onRestart("exited with code 3 after 1s (restart 1 of 10)");
    await until(() => /exited with code 3/.test(reports.at(-1)?.detail ?? ""), "the restart's exit in the detail");
    expect(reports.at(-1)!.detail).toMatch(/restarting with backoff/);

    events!.onFailed("exited with code 3 after 1s: 11 times in a row, each within 30s of starting");
    await until(() => reports.at(-1)?.state === "failed" && /panic: no such file/.test(reports.at(-1)?.detail ?? ""), "failed with the last output lines");
    const detail = reports.at(-1)!.detail;
    expect(detail).toMatch(/^crash loop: exited with code 3/);
    expect(detail).toContain("loading config");
    // The first "failed" report carries the lines: the controller keeps that one, and places the slot again at once.
    expect(reports.filter((r) => r.state === "failed").map((r) => r.detail)).toEqual([detail]);
  });
});

describe("secret values in what an instance reports", () => {
  it("are masked in a crash's last lines and a check's detail, the whole value and each line of one", async () => {
    const steps = fakeSteps();
    let events: RunEvents | undefined;
    let onHealth: ((healthy: boolean, detail: string) => void) | undefined;
    const start = steps.start;
    steps.start = async (d, cwd, env, ev) => {
      events = ev;
      const h = await start(d, cwd, env, ev);
      return { ...h, tail: async () => "connecting as app with password hunter2-SECRET\nkey line two: -----KEYLINE-2-----\n" };
    };
    steps.health = (_spec, _cwd, _env, cb) => {
      onHealth = cb;
      return { stop: () => undefined };
    };
    const material = { write: async () => path.join(dataDir, "env.json"), remove: async () => undefined, envFile: () => path.join(dataDir, "env.json") } as unknown as SecretMaterial;
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), lastContactMs: () => Date.now(), secrets: material });
    const spec = normalizeSpec({
      name: "web",
      run: { command: "/bin/true" },
      secrets: { DB_PASSWORD: "dbpw" },
      secretFiles: { "/run/secrets/key.pem": "key" },
      health: { exec: { command: ["/bin/true"] } },
      failover: { stopAfterDisconnect: "0s" },
    }) as unknown as Record<string, unknown>;
    conv.assign(assignment(spec, { secrets: [{ name: "dbpw", version: 1, value: Buffer.from("hunter2-SECRET") }, { name: "key", version: 1, value: Buffer.from("-----KEYLINE-1-----\n-----KEYLINE-2-----\n") }] }));
    await until(() => onHealth !== undefined && events !== undefined, "the instance to run");
    onHealth!(false, "exit 1: login refused for password hunter2-SECRET");
    await until(() => reports.at(-1)?.state === "unhealthy", "the check's verdict");
    expect(reports.at(-1)!.detail).toBe("exit 1: login refused for password ***");
    events!.onFailed("exited with code 3 after 1s: 11 times in a row, each within 30s of starting");
    await until(() => reports.at(-1)?.state === "failed" && /last output/.test(reports.at(-1)?.detail ?? ""), "failed with the last output lines");
    const detail = reports.at(-1)!.detail;
    expect(detail).toContain("connecting as app with password ***");
    expect(detail).toContain("key line two: ***");
    expect(reports.map((r) => `${r.detail ?? ""}${r.install_tail ?? ""}`).join("\n")).not.toMatch(/hunter2|KEYLINE/);
  });

  it("shorter than four characters are left as they are: masking them would hide ordinary words", () => {
    expect(maskSecrets("a value of abc and abcd", [Buffer.from("abc"), Buffer.from("abcd")])).toBe("a value of abc and ***");
    expect(maskSecrets("", [Buffer.from("abcd")])).toBe("");
    expect(maskSecrets("x  pw-one  y", [Buffer.from("  pw-one  \n")])).toBe("x  ***  y");
  });
});

describe("a process with no health check, after quick exits", () => {
  async function looping() {
    const steps = fakeSteps();
    let events: RunEvents | undefined;
    const start = steps.start;
    steps.start = async (d, cwd, env, ev) => {
      events = ev;
      return start(d, cwd, env, ev);
    };
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), lastContactMs: () => Date.now() });
    conv.assign(assignment(goodSpec()));
    await until(() => events !== undefined && reports.at(-1)?.state === "healthy", "the first run, healthy at once");
    return { events: () => events!, reports };
  }

  it("is not healthy while running again, until the run outlives the quick-exit window", async () => {
    const { events, reports } = await looping();
    events().onRestart("exited with code 3 after 2s (restart 2 of 10)");
    await until(() => reports.at(-1)?.state === "starting", "starting again");
    // Running again after 2 quick exits, stable 400 ms from now (the supervisor's SupervisorState.quick).
    events().onRunning({ exits: 2, stableAtMs: Date.now() + 400 });
    await until(() => /running again after exited with code 3/.test(reports.at(-1)?.detail ?? ""), "the run after the exit said");
    expect(reports.at(-1)!.state).toBe("starting");
    expect(reports.at(-1)!.detail).toMatch(/healthy once it has run .* more without exiting/);
    await until(() => reports.at(-1)?.state === "healthy", "healthy once stable", 5_000);
    expect(reports.at(-1)!.detail).toBe("running (no health check)");
  });

  it("never turns healthy when it exits again inside the window", async () => {
    const { events, reports } = await looping();
    events().onRestart("exited with code 3 after 2s (restart 2 of 10)");
    const stableAtMs = Date.now() + 200;
    events().onRunning({ exits: 2, stableAtMs });
    await until(() => /running again/.test(reports.at(-1)?.detail ?? ""), "running again");
    events().onRestart("exited with code 3 after 0.1s (restart 3 of 10)");
    await until(() => /restart 3 of 10/.test(reports.at(-1)?.detail ?? ""), "the next exit");
    const n = reports.length;
    // In backoff, no run: past the moment the exited run's wait would have ended, nothing may say healthy.
    // (The start's own pass may still send its status again once its instance record is written, late
    // on a loaded machine: a repeat of "starting", which is not what this is about.)
    await new Promise((r) => setTimeout(r, Math.max(0, stableAtMs - Date.now()) + 100));
    expect(reports.slice(n).map((r) => r.state).filter((s) => s !== "starting")).toEqual([]);
    expect(reports.at(-1)!.state).toBe("starting");
  });

  it("is healthy at once after no quick exit, or one (a hiccup, not a loop)", async () => {
    const { events, reports } = await looping();
    events().onRestart("exited with code 0 after 40s (ran stable, failure count reset)");
    await until(() => reports.at(-1)?.state === "starting", "starting again");
    events().onRunning(undefined);
    await until(() => reports.at(-1)?.state === "healthy", "healthy at once");
    events().onRestart("killed by SIGKILL after 3s (restart 1 of 10)");
    await until(() => reports.at(-1)?.state === "starting", "starting again");
    events().onRunning({ exits: 1, stableAtMs: Date.now() + 60_000 });
    await until(() => reports.at(-1)?.state === "healthy", "healthy at once after one quick exit");
  });
});

describe("a re-adopted process with no health check", () => {
  /** Runs web-0 once, shuts the agent down leaving it running, and starts a second agent on the same data dir whose adopt finds it. */
  async function readopted(quick: { exits: number; stableAtMs: number } | undefined) {
    const first = fakeSteps();
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps: first, report: () => undefined, lastContactMs: () => Date.now() });
    conv.assign(assignment(goodSpec()));
    await until(() => first.started.length === 1, "the first agent's start");
    await conv.shutdown();
    const steps = fakeSteps();
    const h = await first.start(first.started[0]!, "", {}, { onRunning: () => undefined, onFailed: () => undefined, onRestart: () => undefined });
    steps.adopt = async () => ({ ...h, quick: () => quick });
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), lastContactMs: () => Date.now() });
    expect((await conv.restore()).map((r) => r.instance)).toEqual(["web-0"]);
    return reports;
  }

  it("is healthy again at once, not left starting until it exits", async () => {
    const reports = await readopted(undefined);
    await until(() => reports.at(-1)?.state === "healthy", "healthy after re-adoption");
    expect(reports.at(-1)!.detail).toBe("running (no health check)");
  });

  it("in a crash loop, waits out the rest of its window as a start would", async () => {
    const reports = await readopted({ exits: 3, stableAtMs: Date.now() + 300 });
    await until(() => /healthy once it has run/.test(reports.at(-1)?.detail ?? ""), "starting, waiting for stability");
    await until(() => reports.at(-1)?.state === "healthy", "healthy once stable", 5_000);
  });
});

// A rollout step is downtime from the old process's stop to the new one's first
// healthy check: the instance record (an fsync'd atomic write, two fsyncs and a
// dozen thread-pool hops) must not sit between the stop and the spawn.
describe("the instance record", () => {
  function recorder() {
    const r = {
      ops: [] as string[],
      release: () => undefined as void,
      fail: undefined as Error | undefined,
      write: (_file: string, rec: { instance: string; epoch: number }): Promise<void> => {
        r.ops.push(`write ${rec.instance}@${rec.epoch}`);
        return new Promise<void>((resolve, reject) => {
          r.release = () => (r.fail ? reject(r.fail) : resolve());
        });
      },
      remove: async (): Promise<void> => void r.ops.push("remove"),
    };
    return r;
  }

  it("is written alongside the start, not before it: the process starts while the write is on its way", async () => {
    const steps = fakeSteps();
    const rec = recorder();
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: () => undefined, record: rec });
    conv.assign(assignment(goodSpec()));
    await until(() => steps.started.length === 1, "the start, with the record still being written");
    expect(rec.ops).toEqual(["write web-0@3"]);
    rec.release();
  });

  it("of the old instance is replaced by the new one's, not removed in between", async () => {
    const steps = fakeSteps();
    const rec = recorder();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), record: rec });
    conv.assign(assignment(goodSpec()));
    await until(() => steps.started.length === 1, "the first start");
    rec.release();
    await until(() => reports.at(-1)?.state === "healthy", "the first instance healthy");
    conv.assign(assignment(goodSpec(), { epoch: 4 }));
    await until(() => steps.started.length === 2, "the replacement's start");
    rec.release();
    expect(rec.ops).toEqual(["write web-0@3", "write web-0@4"]);
  });

  it("that cannot be written stops the process it started and reports the instance failed", async () => {
    const steps = fakeSteps();
    const rec = recorder();
    rec.fail = new Error("ENOSPC: no space left on device");
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s), record: rec });
    conv.assign(assignment(goodSpec()));
    await until(() => steps.started.length === 1, "the start");
    rec.release();
    await until(() => reports.at(-1)?.state === "failed", "the failure");
    expect(steps.stops).toBe(1);
    expect(reports.at(-1)?.detail).toMatch(/ENOSPC/);
  });
});

describe("who the instance runs as", () => {
  it("an assignment this host refuses to run as its user fails with the agent's reason, before any fetch", async () => {
    const steps = fakeSteps();
    let fetched = 0;
    steps.fetch = async () => {
      fetched++;
      return null;
    };
    steps.runAs = async () => {
      throw new RunAsError("run.user root: this host does not allow services to run as root (allowRoot: true in its agent.yaml allows it)");
    };
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    conv.assign(assignment(goodSpec()));
    await until(() => reports.at(-1)?.state === "failed", "the refusal");
    expect(reports.at(-1)?.detail).toMatch(/^refused by the agent: run\.user root: .*allowRoot: true/);
    expect(fetched).toBe(0);
    expect(steps.started).toEqual([]);
  });
});

describe("berth exec --service", () => {
  it("runs as the instance's user with the home the process has, not one looked up again", async () => {
    const steps = fakeSteps();
    // The agent's own ids: it may chown its folders to them, and reaches them.
    const ids = { uid: process.getuid!(), gid: process.getgid!(), home: "/var/lib/berth/agent/homes/berth-web" };
    steps.runAs = async () => ({ user: "berth-web", ids });
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    conv.assign(assignment(goodSpec()));
    await until(() => reports.at(-1)?.state === "healthy" || reports.at(-1)?.state === "running", "the instance running");
    const c = conv.execContext("web-0");
    expect(typeof c === "string" ? c : { user: c.user, ids: c.ids }).toEqual({ user: "berth-web", ids });
  });
});

describe.skipIf(process.getuid?.() !== 0)("a working dir its user cannot reach", () => {
  it("fails the instance before it starts, naming the folder that blocks and the fix", async () => {
    const nobody = resolveUser("nobody");
    // The agent's data dir below a folder only root may pass (a checkout under /root).
    const locked = path.join(dataDir, "root");
    const steps = fakeSteps();
    steps.runAs = async () => ({ user: "nobody", ids: nobody });
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir: path.join(locked, "data"), advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    await mkdir(path.join(locked, "data"), { recursive: true });
    await chmod(dataDir, 0o755);
    await chmod(locked, 0o700);
    conv.assign(assignment(goodSpec()));
    await until(() => reports.at(-1)?.state === "failed", "the failure");
    expect(reports.at(-1)?.detail).toMatch(new RegExp(`^user nobody \\(uid ${nobody.uid}\\) cannot reach its working dir .*: ${locked} \\(mode 0700, owner root\\) does not let it through; run chmod o\\+x ${locked} on this host, or give the agent a data dir outside it`));
    expect(steps.started).toEqual([]);
  });
});

// A rolling restart replaces each copy with the same artifact, install and user: the
// agent starts the new one from the folder the old one ran from, with nothing looked
// up or checked again between the stop and the start (issue 12).
describe("a replacement prepared like the copy it replaces", () => {
  const counting = (): ReturnType<typeof fakeSteps> & { calls: string[] } => {
    const steps = Object.assign(fakeSteps(), { calls: [] as string[] });
    steps.runAs = async () => (steps.calls.push("runAs"), { user: "" });
    steps.fetch = async () => (steps.calls.push("fetch"), null);
    steps.install = async () => void steps.calls.push("install");
    return steps;
  };
  const running = (reports: InstanceStatus[], epoch: number) => (): boolean => reports.some((r) => r.epoch === epoch && r.state === "healthy");
  /** A converger whose web-0 runs epoch 3, prepared once. */
  const runningAtEpoch3 = async (): Promise<{ c: Converger; steps: ReturnType<typeof counting>; reports: InstanceStatus[] }> => {
    const steps = counting();
    const reports: InstanceStatus[] = [];
    const c = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    conv = c;
    c.assign(assignment(goodSpec(), { epoch: 3 }));
    await until(running(reports, 3), "epoch 3 running");
    return { c, steps, reports };
  };

  it("starts from the same folder without runAs, fetch or install, and without reporting fetching or installing", async () => {
    const { c, steps, reports } = await runningAtEpoch3();
    expect(steps.calls).toEqual(["runAs", "fetch", "install"]);
    // A restart: a new epoch and revision, the same spec.
    c.assign(assignment(goodSpec(), { epoch: 4, revision: 3 }));
    await until(running(reports, 4), "epoch 4 running");
    expect(steps.calls).toEqual(["runAs", "fetch", "install"]);
    expect(steps.stops).toBe(1);
    const states = reports.filter((r) => r.epoch === 4).map((r) => r.state);
    expect(states.slice(0, 2)).toEqual(["pending", "starting"]);
    expect(states).not.toContain("fetching");
    expect(states).not.toContain("installing");
    expect(c.execContext("web-0")).toMatchObject({ cwd: path.join(dataDir, "instances", "web-0") });
  });

  it("prepares again when the install (or the artifact, or the user) changes", async () => {
    const { c, steps, reports } = await runningAtEpoch3();
    const changed = normalizeSpec({ name: "web", run: { command: "/bin/true" }, install: { steps: [{ run: "./setup.sh" }] } }) as unknown as Record<string, unknown>;
    c.assign(assignment(changed, { epoch: 4, revision: 3 }));
    await until(running(reports, 4), "epoch 4 running");
    expect(steps.calls).toEqual(["runAs", "fetch", "install", "runAs", "fetch", "install"]);
    expect(reports.filter((r) => r.epoch === 4).map((r) => r.state)).toContain("installing");
  });
});

describe("unused artifacts", () => {
  const withArtifact = (digest: string): Record<string, unknown> => ({ ...goodSpec(), artifact: { kind: "stored", sha256: digest, source: "./build" } });
  const A = "a".repeat(64);
  const B = "b".repeat(64);
  /** Every sweep still held, let go after each test (a failed one too: shutdown waits for the sweep). */
  const gates: (() => void)[] = [];
  afterEach(() => {
    for (const g of gates.splice(0)) g();
  });
  /** Fake steps whose sweeps are recorded, each held until `release`d. */
  const sweeping = (): ReturnType<typeof fakeSteps> & { sweeps: string[][]; fetches: string[]; release(): void } => {
    const steps = Object.assign(fakeSteps(), {
      sweeps: [] as string[][],
      fetches: [] as string[],
      release: () => gates.shift()?.(),
    });
    steps.fetch = async (spec) => (steps.fetches.push(spec.artifact?.sha256 ?? ""), null);
    steps.sweep = (inUse: string[]) => {
      steps.sweeps.push(inUse);
      return new Promise<void>((resolve) => gates.push(resolve));
    };
    return steps;
  };
  const running = (reports: InstanceStatus[], epoch: number) => (): boolean => reports.some((r) => r.epoch === epoch && r.state === "healthy");

  it("are swept once a new artifact runs, keeping it; not after a restart; and all but the spares once the instance goes", async () => {
    const steps = sweeping();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    await conv.restore();
    // At start: nothing runs, so nothing is in use.
    expect(steps.sweeps).toEqual([[]]);
    steps.release();
    conv.assign(assignment(withArtifact(A), { epoch: 3 }));
    await until(running(reports, 3), "epoch 3 running");
    await until(() => steps.sweeps.length === 2, "the sweep after the start");
    expect(steps.sweeps[1]).toEqual([A]);
    steps.release();
    // A restart runs the same artifact: nothing to sweep.
    conv.assign(assignment(withArtifact(A), { epoch: 4, revision: 3 }));
    await until(running(reports, 4), "epoch 4 running");
    conv.assign({ service: "", instance: "", epoch: 0, revision: 0, spec_json: "", secrets: [] });
    await until(() => steps.sweeps.length === 3, "the sweep after the instance went");
    expect(steps.sweeps[2]).toEqual([]);
    expect(steps.stops).toBe(2);
    steps.release();
  });

  it("hold back the next fetch while a sweep runs, not the stop of the copy being replaced", async () => {
    const steps = sweeping();
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    conv.assign(assignment(withArtifact(A), { epoch: 3 }));
    await until(() => steps.sweeps.length === 1, "the sweep after A started");
    // A's sweep is still running when B is assigned.
    conv.assign(assignment(withArtifact(B), { epoch: 4, revision: 3 }));
    await until(() => steps.stops === 1, "the copy of A stopped");
    expect(steps.fetches).toEqual([A]);
    steps.release();
    await until(running(reports, 4), "epoch 4 running");
    expect(steps.fetches).toEqual([A, B]);
    await until(() => steps.sweeps.length === 2, "the sweep after B started");
    expect(steps.sweeps[1]).toEqual([B]);
    steps.release();
  });
});

describe("install output", () => {
  it("reaches the controller while the step works on quietly, not only the first line", async () => {
    const steps = fakeSteps();
    let finish: () => void = () => undefined;
    steps.install = (_spec: unknown, _dir: unknown, onOutput: (s: string) => void) =>
      new Promise<void>((resolve) => {
        onOutput("[berth] install web: header\n");
        onOutput("[berth] step 1/1: sleep 20\nstep-start\n");
        finish = resolve;
      });
    const reports: InstanceStatus[] = [];
    conv = new Converger({ dataDir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => reports.push(s) });
    conv.assign(assignment(goodSpec()));
    try {
      await until(() => reports.some((r) => r.state === "installing" && (r.install_tail ?? "").includes("step-start")), "the step's line reported while it installs", 3_000);
    } finally {
      finish();
    }
    await until(() => reports.at(-1)?.state === "healthy", "the instance to run");
  });
});
