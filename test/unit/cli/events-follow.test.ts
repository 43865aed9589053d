/* eslint-disable no-control-regex -- these tests are about control characters */
/**
 * `berth events -f` against a real controller: an event whose text carries
 * terminal escapes (clear screen, set the window title) is printed with them
 * escaped, not obeyed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event__Output } from "../../../shared/gen/berth/v1/Event.js";
import { EVENT_PREFIX, type EventRecord } from "../../../controller/events/event-log.js";
import { startTestController, unaryP, type TestController } from "../api/controller.js";
import { until } from "../until.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

describe("berth events -f", () => {
  let ctl: TestController;
  let cli: ChildProcess | undefined;
  beforeAll(async () => {
    ctl = await startTestController();
  });
  afterAll(async () => {
    cli?.kill("SIGKILL");
    await ctl?.close();
  }, 30_000);

  it("prints a host's escape sequences escaped", async () => {
    const viewer = ctl.client(ctl.tokens.viewer);
    const last = (await unaryP<object, { events: Event__Output[] }>(viewer, "ListEvents", { limit: 1 })).events.at(-1)?.seq ?? 0;
    const caFile = join(ctl.dataDir, "ca.crt");
    await writeFile(caFile, ctl.handle.caPem);
    cli = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli/main.ts"), "events", "-f", "-n", "1"], {
      cwd: ROOT,
      env: { ...process.env, BERTH_ADDR: ctl.target, BERTH_TOKEN: ctl.tokens.viewer, BERTH_CA: caFile, BERTH_CONFIG: join(ctl.dataDir, "no-config"), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    cli.stdout!.on("data", (b: Buffer) => (out += b.toString("utf8")));
    cli.stderr!.on("data", (b: Buffer) => (err += b.toString("utf8")));
    // The first line is the history (-n 1): then the watch is open.
    await until(() => out.includes("\n") || cli!.exitCode !== null, "events -f to print its history", 20_000);
    expect(err).toBe("");
    // A stored record as a host's agent could have caused it: its hostname and message carry escapes.
    const seq = last + 1000;
    const rec: EventRecord = { seq, timeMs: Date.now(), type: "host.joined", host: "h\u001b[31mred", service: "", message: "joined as evil\u001b[2J\u001b]0;title\u0007 done", actor: "" };
    await ctl.handle.store.put(`${EVENT_PREFIX}${seq.toString().padStart(16, "0")}`, JSON.stringify(rec));
    await until(() => out.includes("done"), "the event on events -f", 10_000);
    const line = out.split("\n").find((l) => l.includes("evil"))!;
    expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(line).toContain("joined as evil\\x1b[2J\\x1b]0;title\\x07 done");
    expect(line).toContain("host=h\\x1b[31mred");
  }, 60_000);
});
