// Health checks against real listeners and real processes on loopback: a node
// http server whose answer the test switches, a bare TCP listener, shell
// commands. Ports come from the kernel (listen on 0); everything is closed in
// afterEach, pass or fail.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import http from "node:http";
import net from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HealthMonitor, portWatchBeatMs, runCheck, type CheckResult } from "../../../agent/health/checks.js";
import type { HealthTransition } from "../../../agent/health/thresholds.js";
import type { HealthSpec } from "../../../shared/spec/types.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { waitFor } from "../../cluster/harness/wait.js";

const HOST = "127.0.0.1";

let server: http.Server | undefined;
let tcp: net.Server | undefined;
let dir: string;
/** The status the http server answers /healthz with; tests switch it. */
let answer = 200;

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const a = s.address();
      if (a === null || typeof a === "string") return reject(new Error("no port"));
      resolve(a.port);
    });
  });
}

async function startHttp(): Promise<number> {
  server = http.createServer((req, res) => {
    res.statusCode = req.url === "/healthz" ? answer : 404;
    res.end(String(res.statusCode));
  });
  return listen(server);
}

/** A port nobody listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

beforeEach(async () => {
  answer = 200;
  dir = await mkdtemp(path.join(os.tmpdir(), "berth-health-"));
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (tcp ? tcp.close(() => resolve()) : resolve()));
  server = undefined;
  tcp = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe("runCheck: http", () => {
  it("is ok when the status matches, and names the status when it does not", async () => {
    const port = await startHttp();
    const check = { kind: "http", port, path: "/healthz", status: 200 } as const;
    expect(await runCheck(check, HOST, 2_000)).toEqual({ ok: true, detail: "GET /healthz → 200" });
    answer = 503;
    expect(await runCheck(check, HOST, 2_000)).toEqual({ ok: false, detail: "GET /healthz → 503" });
    expect(await runCheck({ ...check, path: "/other" }, HOST, 2_000)).toEqual({ ok: false, detail: "GET /other → 404" });
  });

  it("says connect ECONNREFUSED when nothing listens", async () => {
    const port = await closedPort();
    const r = await runCheck({ kind: "http", port, path: "/healthz", status: 200 }, HOST, 2_000);
    expect(r).toEqual({ ok: false, detail: `GET /healthz: connect ECONNREFUSED ${HOST}:${port}`, refused: true });
  });

  it("a path Node refuses to send (control characters, from a stored record) is a failed check, not a rejection", async () => {
    const port = await startHttp();
    const r = await runCheck({ kind: "http", port, path: "/health\x1b[2Jz", status: 200 }, HOST, 1_000);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^GET "\/health\\u001b\[2Jz": /);
  });

  it("gives up after the timeout when the server never answers", async () => {
    server = http.createServer(() => {
      // never answers
    });
    const port = await listen(server);
    const t0 = Date.now();
    const r = await runCheck({ kind: "http", port, path: "/healthz", status: 200 }, HOST, 200);
    expect(r).toEqual({ ok: false, detail: "GET /healthz: no answer within 200 ms" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe("runCheck: tcp", () => {
  it("is ok when a connection is accepted, and says why not otherwise", async () => {
    tcp = net.createServer((s) => s.destroy());
    const port = await listen(tcp);
    expect(await runCheck({ kind: "tcp", port }, HOST, 2_000)).toEqual({ ok: true, detail: `connected to ${HOST}:${port}` });
    const closed = await closedPort();
    expect(await runCheck({ kind: "tcp", port: closed }, HOST, 2_000)).toEqual({
      ok: false,
      detail: `connect ECONNREFUSED ${HOST}:${closed}`,
      refused: true,
    });
  });
});

describe("runCheck: exec", () => {
  it("runs in cwd with env; exit 0 is ok, and the output's tail is the detail", async () => {
    await writeFile(path.join(dir, "check.sh"), `#!/bin/sh\necho "in $(pwd) as $ROLE"\nexit "$CODE"\n`, { mode: 0o755 });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", ROLE: "web" };
    expect(await runCheck({ kind: "exec", command: ["./check.sh"] }, HOST, 5_000, { cwd: dir, env: { ...env, CODE: "0" } })).toEqual({
      ok: true,
      detail: `exit 0: in ${dir} as web`,
    });
    expect(await runCheck({ kind: "exec", command: ["./check.sh"] }, HOST, 5_000, { cwd: dir, env: { ...env, CODE: "3" } })).toEqual({
      ok: false,
      detail: `exit 3: in ${dir} as web`,
    });
    const long = await runCheck({ kind: "exec", command: ["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' a; echo; echo the end"] }, HOST, 5_000);
    expect(long.ok).toBe(true);
    expect(long.detail.length).toBeLessThan(600);
    expect(long.detail.endsWith("the end")).toBe(true);
  });

  it("kills the command and its children at the timeout", async () => {
    const r = await runCheck(
      { kind: "exec", command: ["sh", "-c", "echo started; sleep 30 & echo kid $!; wait"] },
      HOST,
      300,
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^timed out after 300 ms: started\nkid \d+$/);
    const kid = Number(/kid (\d+)/.exec(r.detail)?.[1]);
    await waitFor(() => !isLive(readProcStat(kid)), { timeoutMs: 5_000, what: "the check's child killed" });
  });

  it("reports a command that cannot run", async () => {
    const r = await runCheck({ kind: "exec", command: ["./missing-check"] }, HOST, 2_000, { cwd: dir });
    expect(r).toEqual({ ok: false, detail: "cannot run ./missing-check: spawn ./missing-check ENOENT" });
  });

  it("resolves as cancelled when aborted", async () => {
    const ac = new AbortController();
    const p = runCheck({ kind: "exec", command: ["sleep", "30"] }, HOST, 10_000, { signal: ac.signal });
    ac.abort();
    expect(await p).toEqual({ ok: false, detail: "cancelled" });
  });
});

describe("HealthMonitor", () => {
  const spec = (port: number, over: Partial<HealthSpec> = {}): HealthSpec => ({
    check: { kind: "http", port, path: "/healthz", status: 200 },
    intervalMs: 30,
    timeoutMs: 1_000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    ...over,
  });

  it("turns healthy after healthyThreshold successes and unhealthy after unhealthyThreshold failures, with the detail", async () => {
    const port = await startHttp();
    const mon = new HealthMonitor({ spec: spec(port), host: HOST });
    const transitions: HealthTransition[] = [];
    const results: CheckResult[] = [];
    mon.on("transition", (t) => transitions.push(t));
    mon.on("result", (r) => results.push(r));
    try {
      expect(mon.status).toBe("unknown");
      mon.start();
      await waitFor(() => mon.status === "healthy", { timeoutMs: 5_000, what: "healthy" });
      // Not before the second success.
      expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(2);
      expect(transitions).toEqual([{ status: "healthy", detail: "GET /healthz → 200", sinceMs: expect.any(Number) as number }]);
      const before = results.length;
      answer = 503;
      await waitFor(() => mon.status === "unhealthy", { timeoutMs: 5_000, what: "unhealthy" });
      expect(results.slice(before).filter((r) => !r.ok).length).toBeGreaterThanOrEqual(3);
      expect(transitions.at(-1)).toMatchObject({ status: "unhealthy", detail: "GET /healthz → 503" });
      expect(transitions).toHaveLength(2);
    } finally {
      await mon.stop();
    }
  });

  it("runs the first check at once, never two at a time, and nothing after stop()", async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let release: (() => void) | undefined;
    // A check slower than the interval: the monitor must wait for it, not pile up.
    const slowCheck = (): Promise<CheckResult> => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      return new Promise((resolve) => {
        release = () => {
          running--;
          resolve({ ok: true, detail: "fine" });
        };
      });
    };
    const mon = new HealthMonitor({ spec: spec(1, { intervalMs: 1, healthyThreshold: 1 }), host: HOST, check: slowCheck, now: () => 42 });
    const results: CheckResult[] = [];
    mon.on("result", (r) => results.push(r));
    try {
      mon.start();
      expect(calls).toBe(1); // at once, not after the interval
      for (let i = 0; i < 3; i++) {
        const n = calls;
        release?.();
        await waitFor(() => calls === n + 1, { timeoutMs: 5_000, what: `check ${n + 1}` });
      }
      expect(maxRunning).toBe(1);
      expect(mon.current).toMatchObject({ status: "healthy", sinceMs: 42 });
      // Stop with a check in flight, then let it finish: its result is dropped, and
      // since the next check is scheduled only where a result is taken, none follows.
      const seen = results.length;
      const stopping = mon.stop();
      release?.();
      await stopping;
      expect(results).toHaveLength(seen);
      expect(calls).toBe(4);
    } finally {
      release?.();
      await mon.stop();
    }
  });

  it("a copy still starting (its port refused): the next check runs as soon as the port opens, not a whole interval later", async () => {
    const port = await closedPort();
    const mon = new HealthMonitor({ spec: spec(port, { intervalMs: 10_000, healthyThreshold: 1 }), host: HOST });
    const results: CheckResult[] = [];
    mon.on("result", (r) => results.push(r));
    try {
      mon.start();
      await waitFor(() => results.length === 1, { timeoutMs: 5_000, what: "the first check" });
      expect(results[0]).toMatchObject({ ok: false, refused: true });
      // The service opens its port: healthy long before the next check was due (10 s).
      server = http.createServer((_req, res) => res.end("ok"));
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(port, HOST, () => resolve());
      });
      await waitFor(() => mon.status === "healthy", { timeoutMs: 5_000, what: "healthy once the port opened" });
      // The port watch's connects are counted nowhere: two checks, the refused one and the passing one.
      expect(results.map((r) => r.ok)).toEqual([false, true]);
    } finally {
      await mon.stop();
    }
  });

  it("the port watch tries every 2 ms for its first second (half a beat is paid per instance of a rollout), then every 10 ms", () => {
    expect([0, 48, 999].map(portWatchBeatMs)).toEqual([2, 2, 2]);
    expect([1_000, 60_000].map(portWatchBeatMs)).toEqual([10, 10]);
  });

  it("a huge interval (a spec stored before intervals were bounded) does not run the check every millisecond", async () => {
    let calls = 0;
    const check = (): Promise<CheckResult> => {
      calls++;
      return Promise.resolve({ ok: true, detail: "fine" });
    };
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const mon = new HealthMonitor({ spec: spec(1, { intervalMs: 30 * 86_400_000, timeoutMs: 1_000 }), host: HOST, check });
    try {
      mon.start();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(calls).toBe(1);
    } finally {
      await mon.stop();
      vi.useRealTimers();
    }
  });

  it("cancels a check in flight on stop()", async () => {
    const mon = new HealthMonitor({
      spec: { check: { kind: "exec", command: ["sleep", "30"] }, intervalMs: 1_000, timeoutMs: 20_000, healthyThreshold: 1, unhealthyThreshold: 1 },
      host: HOST,
    });
    const transitions: HealthTransition[] = [];
    mon.on("transition", (t) => transitions.push(t));
    mon.start();
    const t0 = Date.now();
    await mon.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(transitions).toEqual([]); // the cancelled result is dropped, not counted as a failure
    expect(mon.status).toBe("unknown");
  });
});
