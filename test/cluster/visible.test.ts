/**
 * Issue 12: what goes wrong is visible where the user looks. A failed install's output
 * stays reachable — in `berth status` and `berth logs --install` — after the failed copy
 * is gone and the slot waits to be placed again. A process that keeps exiting is `failed`
 * after the attempts its spec's run.restart allows, with its exit and its last lines.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "./harness/cluster.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";

describe("failures stay visible", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, ttl: "3s", heartbeat: "500ms" });
  });
  tearDownWith(() => c);

  it("a failed install's output, step and exit code show in status and logs --install once the slot waits", async () => {
    const install = `install:\n  steps:\n    - { run: "echo compiling widgets; echo 'fatal: widget.h not found' >&2; exit 3" }\n`;
    const dir = await c.specDir("broken", { "broken.yaml": svcSpec("broken", { health: false, extra: install }) });
    // apply --wait says the failure — the step and its exit code, not only "pending" — and ends
    // there (exit 1) rather than at its deadline, as nothing judges a new service but the wait.
    const waited = await c.apply(dir, ["--wait", "--timeout", "15s"]);
    expect(waited.code, waited.stdout + waited.stderr).toBe(1);
    expect(waited.stderr).toMatch(/last failed install on \S+ at \S+: installing: step 1 \(.*\) exited with (code )?3/);
    expect(waited.stdout).toContain("applied; waiting for every instance to be healthy at its new revision (--wait)");
    // It failed on both hosts and waits (pending, no copy anywhere): the output is what was kept.
    const st = await c.waitForStatus(
      "broken",
      (s) => s.instances[0]?.state === "pending" && /fatal: widget\.h not found/.test(s.instances[0].install_tail ?? ""),
      "broken pending with its failed install's output",
      90_000,
    );
    const tail = st.instances[0]!.install_tail!;
    expect(tail).toMatch(/last failed install on \S+ at \S+: installing: step 1 \(.*\) exited with (code )?3/);
    const shown = await c.cli(["status", "broken"]);
    expect(shown.stdout).toContain("fatal: widget.h not found");
    const logs = await c.cli(["logs", "broken", "--install"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("fatal: widget.h not found");
    expect(logs.stdout).toMatch(/exited with (code )?3/);
    // Without --install: no process ever ran, and the answer names the flag that shows what failed.
    const plain = await c.cli(["logs", "broken"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/broken has no placed instance; its last failed install's output is kept: berth logs broken --install/);
    expect((await c.cli(["delete", "broken"])).code).toBe(0);
  });

  it("a crash loop ends failed after run.restart.attempts, with the exit code and the last lines in the event, in status and in logs", async () => {
    const spec = `name: crashy
artifact: ${SVC}
run:
  command: sh
  args: [-c, "echo starting up; echo 'panic: config missing' >&2; exit 4"]
  restart: { attempts: 2, delay: 100ms, maxDelay: 200ms }
instances: 1
`;
    const applied = await c.apply(await c.specDir("crashy", { "crashy.yaml": spec }));
    expect(applied.code, applied.stderr).toBe(0);
    // Started, then restarted twice (100 ms, then 200 ms later), the third quick exit fails it.
    const failed = await c.waitForEvent((e) => e.type === "instance.failed" && e.service === "crashy", "crashy failed", 60_000);
    expect(failed.message).toMatch(/^crashy-0 \(epoch \d+\) failed: crash loop: exited with code 4 after \S+: 3 times in a row, each within 30s of starting/);
    // Placed again on the other host, failed there too: the slot waits, and says why with the process's own words.
    const st = await c.waitForStatus(
      "crashy",
      (s) => s.instances[0]?.state === "pending" && /last failure on \S+ at \S+: crash loop: exited with code 4/.test(s.instances[0].install_tail ?? "") && (s.instances[0].install_tail ?? "").includes("panic: config missing"),
      "crashy pending (30 s before its next placement) with its last failure shown",
      60_000,
    );
    expect(st.instances[0]!.state).not.toBe("healthy");
    const shown = await c.cli(["status", "crashy"]);
    expect(shown.stdout).toContain("panic: config missing");
    // berth logs, with no copy to ask, prints the kept last lines (as kubectl logs --previous), not "no placed instance".
    const logs = await c.cli(["logs", "crashy"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/last failure on \S+ at \S+: crash loop: exited with code 4/);
    expect(logs.stdout).toContain("panic: config missing");
    expect((await c.cli(["delete", "crashy"])).code).toBe(0);
  });

  it("a crash loop with no health check is not healthy between its crashes: from the second quick exit a run is starting until it outlives 30 s", async () => {
    const spec = `name: flappy
artifact: ${SVC}
run:
  command: sh
  args: [-c, "sleep 0.7; exit 5"]
  restart: { attempts: 20, delay: 100ms, maxDelay: 200ms }
instances: 1
`;
    const applied = await c.apply(await c.specDir("flappy", { "flappy.yaml": spec }));
    expect(applied.code, applied.stderr).toBe(0);
    // The real supervisor's count of quick exits reaches the agent's report: a running copy that says why it is not healthy yet.
    const st = await c.waitForStatus("flappy", (s) => /^running again after exited with code 5 after \S+ \(restart \d+ of 20\); healthy once it has run \d+s more without exiting/.test(s.instances[0]?.detail ?? ""), "flappy running again, not healthy", 30_000);
    expect(st.instances[0]!.state).toBe("starting");
    expect((await c.cli(["delete", "flappy"])).code).toBe(0);
  });

  it("apply --wait of a new service waits until its copies are in service (healthy for minHealthyTime), not their first healthy moment", async () => {
    const spec = `name: brief
artifact: ${SVC}
run:
  command: sh
  args: [-c, "sleep 1; exit 1"]
  restart: { attempts: 20, delay: 100ms, maxDelay: 200ms }
update: { minHealthyTime: 2s }
instances: 1
`;
    const r = await c.apply(await c.specDir("brief", { "brief.yaml": spec }), ["--wait", "--timeout", "6s"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/timed out after 6s waiting for brief to be healthy/);
    expect(r.stdout).not.toMatch(/every instance healthy/);
    expect((await c.cli(["delete", "brief"])).code).toBe(0);
  });

  it("apply --wait of a new service ends (exit 1) when a copy fails for good twice (its slot waits out a backoff), with why, rather than waiting out its timeout", async () => {
    const spec = `name: doomed
artifact: ${SVC}
run:
  command: sh
  args: [-c, "echo 'panic: no config'; exit 3"]
  restart: { attempts: 2, delay: 100ms, maxDelay: 200ms }
instances: 1
`;
    const started = Date.now();
    const r = await c.apply(await c.specDir("doomed", { "doomed.yaml": spec }), ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    // It failed on one host, was placed again at once on the other, failed there too: now its slot waits out a backoff.
    expect(r.stderr).toMatch(/doomed: doomed-0 waiting to reschedule: [\s\S]*last failure on \S+ at \S+: crash loop: exited with code 3/);
    expect(r.stderr).toMatch(/berth status doomed and berth logs doomed show why/);
    expect(r.stderr).not.toMatch(/timed out/);
    expect((await c.cli(["delete", "doomed"])).code).toBe(0);
  });

  it("apply --wait ends (exit 1) once all that is left is a copy no host can take, naming it and why, rather than waiting out its timeout", async () => {
    const spec = `name: toomany
artifact: ${SVC}
run:
  command: sleep
  args: ["1000"]
update: { minHealthyTime: 0s }
instances: 3
`;
    const started = Date.now();
    const r = await c.apply(await c.specDir("toomany", { "toomany.yaml": spec }), ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.stderr).toMatch(/toomany: 2\/3 in service; toomany-\d cannot be placed: no spare host: 2 are occupied/);
    expect(r.stderr).toMatch(/places them by itself once a host can take them/);
    expect(r.stderr).not.toMatch(/timed out/);
    expect((await c.cli(["delete", "toomany"])).code).toBe(0);
  });

  it("apply --wait of files that change nothing still follows the service: a re-run of a deploy that timed out does not pass while it is not in service", async () => {
    const spec = `name: sick
artifact: ${SVC}
run:
  command: sleep
  args: ["1000"]
health:
  exec: { command: ["false"] }
  interval: 200ms
  timeout: 100ms
instances: 1
`;
    const dir = await c.specDir("sick", { "sick.yaml": spec });
    const first = await c.apply(dir, ["--wait", "--timeout", "3s"]);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    const again = await c.apply(dir, ["--wait", "--timeout", "3s"]);
    expect(again.code, again.stdout + again.stderr).toBe(1);
    expect(again.stdout).toMatch(/no changes; waiting until every instance is in service/);
    expect(again.stderr).toMatch(/timed out after 3s waiting for sick to be healthy/);
    expect((await c.cli(["delete", "sick"])).code).toBe(0);
  });

  it("rollout status of a new service (no rollout yet) is not done until its instances are in service: `apply && rollout status -w` gates a first deploy too", async () => {
    const spec = (check: string) => `name: fresh
artifact: ${SVC}
run:
  command: sleep
  args: ["1000"]
health:
  exec: { command: ["${check}"] }
  interval: 200ms
  timeout: 100ms
update: { minHealthyTime: 0s }
instances: 1
`;
    expect((await c.apply(await c.specDir("fresh1", { "fresh.yaml": spec("false") }))).code).toBe(0);
    const now = await c.cli(["rollout", "status", "fresh"]);
    expect(now.code, now.stdout + now.stderr).toBe(7);
    expect(now.stderr).toMatch(/fresh has had no rollout \(revision 1, as created\), and 0\/1 of its instances are healthy/);
    const watched = await c.cli(["rollout", "status", "fresh", "-w", "--timeout", "3s"], { timeoutMs: 30_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(1);
    expect(watched.stderr).toMatch(/timed out after 3s waiting for fresh to be healthy/);
    expect((await c.cli(["delete", "fresh"])).code).toBe(0);
    // A healthy one: -w ends with 0 once it is in service.
    expect((await c.apply(await c.specDir("fresh2", { "fresh.yaml": spec("true") }))).code).toBe(0);
    const ok = await c.cli(["rollout", "status", "fresh", "-w", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/fresh: every instance healthy and in service \(1\/1\)/);
    expect((await c.cli(["delete", "fresh"])).code).toBe(0);
  });

  it("apply --wait of a change in place (a raised minHealthyTime) does not wait it out on copies in service before it", async () => {
    const steady = (minHealthy: string) => `name: steady
artifact: ${SVC}
run:
  command: sleep
  args: ["1000"]
update: { minHealthyTime: ${minHealthy}, healthyDeadline: 5m }
instances: 1
`;
    const first = await c.apply(await c.specDir("steady1", { "steady.yaml": steady("0s") }), ["--wait", "--timeout", "60s"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // In place: no rollout, the copy keeps running and stays in service; waiting 2 minutes on it would only hang a pipeline.
    const raised = await c.apply(await c.specDir("steady2", { "steady.yaml": steady("2m") }), ["--wait", "--timeout", "20s"]);
    expect(raised.code, raised.stdout + raised.stderr).toBe(0);
    expect(raised.stdout).toMatch(/update\.minHealthyTime: "0s" → "2m"/);
    expect(raised.stdout).toMatch(/steady: every instance healthy and in service \(1\/1\)/);
    expect((await c.cli(["delete", "steady"])).code).toBe(0);
  });

  it("apply --wait is not fooled by a copy healthy for a moment: an update whose process exits a second after it starts ends in exit 1, reverted", async () => {
    const late = (args: string) => `name: late
artifact: ${SVC}
run:
  command: sh
  args: [-c, "${args}"]
  restart: { attempts: 20, delay: 100ms, maxDelay: 200ms }
update: { minHealthyTime: 2s, healthyDeadline: 6s }
instances: 1
`;
    const first = await c.apply(await c.specDir("late1", { "late.yaml": late("exec sleep 1000") }), ["--wait", "--timeout", "60s"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // No health check: "running" is healthy for the second the process lives, the first two times (from the second quick exit in a row, not until a run outlives 30 s).
    const second = await c.apply(await c.specDir("late2", { "late.yaml": late("sleep 1; exit 1") }), ["--wait", "--timeout", "60s"]);
    expect(second.code, second.stdout + second.stderr).toBe(1);
    expect(second.stderr).toMatch(/late: the rollout (to revision 2 )?(failed|was reverted to revision 1)/);
    expect((await c.cli(["delete", "late"])).code).toBe(0);
  });
});
