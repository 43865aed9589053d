import { describe, expect, it, vi } from "vitest";
import { Command } from "commander";
import { timeoutNeedsWait } from "../../../cli/wait.js";
import { CliError, EXIT } from "../../../cli/errors.js";

const parsed = (args: string[]): Command => {
  const c = new Command().exitOverride().option("--wait").option("--timeout <d>", "", "10m");
  c.parse(args, { from: "user" });
  return c;
};

describe("--timeout without --wait (apply, drain)", () => {
  it("is a usage error, not ignored; its default alone, or with --wait, is fine", () => {
    const bare = parsed(["--timeout", "5s"]);
    expect(() => timeoutNeedsWait(bare, bare.opts<{ wait?: boolean }>().wait)).toThrow(CliError);
    try {
      timeoutNeedsWait(bare, false);
    } catch (e) {
      expect((e as CliError).exitCode).toBe(EXIT.usage);
      expect((e as CliError).message).toBe("--timeout needs --wait: without it nothing is followed");
    }
    const waited = parsed(["--wait", "--timeout", "5s"]);
    expect(() => timeoutNeedsWait(waited, true)).not.toThrow();
    const none = parsed([]);
    expect(() => timeoutNeedsWait(none, undefined)).not.toThrow();
  });
});

describe("follow while the controller is away", () => {
  it("says it lost the controller once per outage, and when it answers again", async () => {
    const { follow } = await import("../../../cli/wait.js");
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    let calls = 0;
    try {
      await follow("web to be healthy", { timeoutMs: 10_000, intervalMs: 1, report: () => undefined }, async () => {
        calls++;
        if (calls <= 5) throw new CliError("cannot reach the controller at 127.0.0.1:7420", EXIT.unavailable);
        return { finished: true, message: "done" };
      });
    } finally {
      spy.mockRestore();
    }
    const text = written.join("");
    expect(text.match(/lost the controller/g)).toHaveLength(1);
    expect(text).toMatch(/the controller answers again \(after \d+s\)/);
  });
});
