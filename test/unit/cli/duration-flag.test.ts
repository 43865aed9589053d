import { afterAll, describe, expect, it } from "vitest";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { program } from "../../../cli/main.js";
import { CliError, EXIT } from "../../../cli/errors.js";
import { parseDurationFlag } from "../../../cli/duration-flag.js";

/** Runs the real CLI in process; every case here fails on its flags, before any I/O. */
async function failure(args: string[]): Promise<CliError> {
  try {
    await program.parseAsync(["node", "berth", ...args]);
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error(`berth ${args.join(" ")} did not fail`);
}

/** Were a flag not checked first, the controller must not touch /var/lib or the user's config. */
const DATA = join(tmpdir(), `berth-duration-flag-${process.pid}`);
const CONTROLLER = ["controller", "--data-dir", DATA, "--listen", "127.0.0.1:0", "--no-write-config", "--metrics-addr", "off"];

describe("duration flags", () => {
  afterAll(() => rm(DATA, { recursive: true, force: true }));

  it("parseDurationFlag names the flag and the limit", () => {
    expect(parseDurationFlag("--timeout", "5m", { max: "7d", positive: true })).toBe(300_000);
    expect(() => parseDurationFlag("--timeout", "30d", { max: "7d" })).toThrow("--timeout: 30d is longer than the maximum 7d");
    expect(() => parseDurationFlag("--timeout", "0s", { max: "7d", positive: true })).toThrow("--timeout: must be longer than 0");
    expect(() => parseDurationFlag("--ttl", "1s", { max: "1h", minMs: 2000 })).toThrow("--ttl: 1s is shorter than the minimum 2s");
    expect(() => parseDurationFlag("--since", "-5s", { max: "1d" })).toThrow(/^--since: invalid duration "-5s"/);
  });

  it.each([
    [[...CONTROLLER, "--heartbeat-interval", "30d"], "--heartbeat-interval: 30d is longer than the maximum 1m"],
    [[...CONTROLLER, "--ttl", "30d"], "--ttl: 30d is longer than the maximum 1h"],
    [[...CONTROLLER, "--cert-ttl", "400d"], "--cert-ttl: 400d is longer than the maximum 365d"],
    [[...CONTROLLER, "--cert-ttl", "5s"], "--cert-ttl: 5s is shorter than the minimum 10s"],
    [["dev", "--cert-ttl", "1s"], "--cert-ttl: 1s is shorter than the minimum 10s"],
    [["audit", "--since", "99999d"], "--since: 99999d is longer than the maximum 3650d"],
    [["token", "create", "--role", "viewer", "--ttl", "99999d"], "--ttl: 99999d is longer than the maximum 3650d"],
    [["apply", "-f", "nowhere.yaml", "--wait", "--timeout", "30d"], "--timeout: 30d is longer than the maximum 7d"],
    [["drain", "3fa9", "--wait", "--timeout", "1e3s"], '--timeout: invalid duration "1e3s": expected a number with a unit, e.g. 500ms, 5s, 2m, 1h, 1d'],
  ])("berth %s", async (args, message) => {
    const e = await failure(args);
    expect(e.message).toBe(message);
    expect(e.exitCode).toBe(EXIT.usage);
  });
});
