/**
 * The controller validates every spec itself (a hand-written client skips the CLI):
 * a bad one is INVALID_ARGUMENT naming file:line:col and field, never INTERNAL with
 * a stack trace in the controller's log. A real controller, in process, on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startController, type ControllerHandle } from "../../../controller/server.js";
import { connect, type Api } from "../../../cli/client.js";
import type { ApplyRequest } from "../../../shared/gen/berth/v1/ApplyRequest.js";

const BASE = "name: web\nrun:\n  command: ./bin/web\n";

describe("Plan and Apply refuse a bad spec as INVALID_ARGUMENT, naming the field", () => {
  let dir = "";
  let c: ControllerHandle | undefined;
  let api: Api | undefined;
  const logged: { level: number; msg: string }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-apply-boundary-"));
    const logger = pino({ level: "info" }, { write: (line: string) => void logged.push(JSON.parse(line) as { level: number; msg: string }) });
    c = await startController({ dataDir: dir, listen: { host: "127.0.0.1", port: 0 }, logger, metricsAddr: null });
    api = connect({ addr: `127.0.0.1:${c.address.port}`, token: c.adminToken!, ca: c.caPem });
  });
  afterAll(async () => {
    api?.close();
    await c?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function send(method: "Plan" | "Apply", content: string): Promise<grpc.ServiceError | undefined> {
    const req: ApplyRequest = { files: [{ file: "web.yaml", content, artifact_sha256: "" }], prune: false };
    return new Promise((resolve) => {
      api!.client[method](req, api!.metadata, { deadline: Date.now() + 15_000 }, (err) => resolve(err ?? undefined));
    });
  }

  it.each([
    ["a negative duration", `${BASE}update:\n  progressDeadline: -5s\n`, "web.yaml:5:21: update.progressDeadline: must not be negative"],
    ["an exponent-form duration", `${BASE}update:\n  minHealthyTime: 1e3s\n`, "web.yaml:5:19: update.minHealthyTime: write the number out: no exponent form such as 1e3"],
    ["a duration beyond any number", `${BASE}health:\n  tcp: { port: 1 }\n  interval: 1e400ms\n`, "web.yaml:6:13: health.interval: write the number out: no exponent form such as 1e3"],
    ["a 30-day progress deadline", `${BASE}update:\n  progressDeadline: 30d\n`, "web.yaml:5:21: update.progressDeadline: 30d is longer than the maximum 7d"],
    ["a billion maxSurge", `${BASE}update:\n  maxSurge: 1000000000\n`, "web.yaml:5:13: update.maxSurge: must be at most 10000"],
    ["an escape in the health path", `${BASE}health:\n  http: { port: 80, path: "/\\u001b[2J" }\n`, "web.yaml:5:27: health.http.path: must not contain control characters (found U+001B at 2)"],
  ])("%s", async (_what, content, message) => {
    for (const method of ["Plan", "Apply"] as const) {
      const err = await send(method, content);
      expect(err?.code, `${method}: ${err?.details}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toBe(message);
    }
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
  });
});
