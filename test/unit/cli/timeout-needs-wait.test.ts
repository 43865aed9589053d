import { describe, expect, it } from "vitest";
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
