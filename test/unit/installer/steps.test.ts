import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StepError, runSteps } from "../../../agent/installer/steps.js";
import { waitFor } from "../../cluster/harness/wait.js";
import { isAlive } from "./proc.js";

let work: string;
const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/root" };

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-steps-test-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<StepError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof StepError)) throw new Error(`expected a StepError, got ${String(err)}`);
  return err;
}

async function readPid(file: string): Promise<number> {
  const pid = await waitFor(async () => Number((await readFile(file, "utf8")).trim()) || undefined, { timeoutMs: 5000, what: `${file}` });
  return pid;
}

describe("runSteps", () => {
  it("runs each step in a pseudo-terminal, in the given folder, with the given env, streaming output", async () => {
    const chunks: string[] = [];
    const started: number[] = [];
    await runSteps(
      [
        { run: "test -t 1 && echo tty || echo not-a-tty", timeoutMs: 5000 },
        { run: 'echo "cwd=$(pwd) greeting=$GREETING"', timeoutMs: 5000 },
      ],
      { cwd: work, env: { ...env, GREETING: "hi there" }, onOutput: (c) => chunks.push(c), onStepStart: (i) => started.push(i) },
    );
    const out = chunks.join("");
    expect(out).toContain("tty\r\n");
    expect(out).not.toContain("not-a-tty");
    expect(out).toContain(`cwd=${work} greeting=hi there`);
    expect(started).toEqual([0, 1]);
  });

  it("does not pass the agent's environment through", async () => {
    process.env.BERTH_STEPS_TEST_SECRET = "agent-only";
    try {
      let out = "";
      await runSteps([{ run: 'echo "secret=[$BERTH_STEPS_TEST_SECRET]"', timeoutMs: 5000 }], { cwd: work, env, onOutput: (c) => (out += c) });
      expect(out).toContain("secret=[]");
    } finally {
      delete process.env.BERTH_STEPS_TEST_SECRET;
    }
  });

  it("stops at the first failing step, reporting its index, exit code and output", async () => {
    let out = "";
    const err = await caught(
      runSteps(
        [
          { run: "echo first > one", timeoutMs: 5000 },
          { run: "echo 'E: broken on purpose'; exit 3", timeoutMs: 5000 },
          { run: "touch three", timeoutMs: 5000 },
        ],
        { cwd: work, env, onOutput: (c) => (out += c) },
      ),
    );
    expect(err).toMatchObject({ index: 1, exitCode: 3, reason: "exit", run: "echo 'E: broken on purpose'; exit 3" });
    expect(err.outputTail).toContain("E: broken on purpose");
    expect(out).toContain("E: broken on purpose");
    expect(await readFile(join(work, "one"), "utf8")).toBe("first\n");
    await expect(stat(join(work, "three"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("kills the step's whole process group on timeout", async () => {
    const started = Date.now();
    const err = await caught(
      // The background job ignores SIGHUP, so the pty closing does not end it: only
      // a signal to the whole group does.
      runSteps([{ run: "(trap '' HUP; exec sleep 1000) & echo $! > bg.pid; echo waiting; sleep 1000", timeoutMs: 300 }], {
        cwd: work,
        env,
        onOutput: () => undefined,
        killGraceMs: 500,
      }),
    );
    expect(err).toMatchObject({ index: 0, reason: "timeout" });
    expect(err.message).toContain("timed out after 300 ms");
    expect(err.outputTail).toContain("waiting");
    expect(Date.now() - started).toBeLessThan(5000);
    const bg = await readPid(join(work, "bg.pid"));
    await waitFor(async () => !(await isAlive(bg)), { timeoutMs: 5000, what: `background sleep ${bg} to die` });
  });

  it("escalates to SIGKILL when a step ignores SIGTERM", async () => {
    const err = await caught(
      runSteps([{ run: "trap '' TERM; echo $$ > sh.pid; while :; do sleep 0.05; done", timeoutMs: 200 }], {
        cwd: work,
        env,
        onOutput: () => undefined,
        killGraceMs: 200,
      }),
    );
    expect(err.reason).toBe("timeout");
    expect(await isAlive(await readPid(join(work, "sh.pid")))).toBe(false);
  });

  it("kills what a successful step left running in its group", async () => {
    // The background job ignores SIGHUP (as nohup would) and the step waits until it
    // does, so the job survives the pty's hangup and only the group kill ends it.
    const run = "(trap '' HUP; echo > ready; exec sleep 1000) >/dev/null 2>&1 & echo $! > bg.pid; while [ ! -f ready ]; do sleep 0.01; done";
    await runSteps([{ run, timeoutMs: 5000 }], { cwd: work, env, onOutput: () => undefined });
    const bg = await readPid(join(work, "bg.pid"));
    await waitFor(async () => !(await isAlive(bg)), { timeoutMs: 5000, what: `left-over sleep ${bg} to die` });
  });

  it("stops on abort", async () => {
    const ac = new AbortController();
    let out = "";
    const run = runSteps([{ run: "echo ready; sleep 1000", timeoutMs: 60_000 }], { cwd: work, env, onOutput: (c) => (out += c), signal: ac.signal });
    await waitFor(() => out.includes("ready"), { timeoutMs: 5000, what: "the step to start" });
    ac.abort();
    expect(await caught(run)).toMatchObject({ reason: "aborted", index: 0 });
    // and an aborted install does not start the next step
    await expect(runSteps([{ run: "touch x", timeoutMs: 1000 }], { cwd: work, env, onOutput: () => undefined, signal: ac.signal })).rejects.toMatchObject({
      reason: "aborted",
    });
    await expect(stat(join(work, "x"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
