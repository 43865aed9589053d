import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { program } from "../../../cli/main.js";

/** Runs the real program on argv, capturing what commander writes to stderr. */
async function run(args: string[]): Promise<{ err: string; code: number | undefined }> {
  let err = "";
  program.configureOutput({ writeErr: (s) => (err += s), writeOut: () => undefined });
  for (const c of program.commands) c.configureOutput({ writeErr: (s) => (err += s), writeOut: () => undefined });
  try {
    await program.parseAsync(["node", "berth", ...args]);
    return { err, code: undefined };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { err, code: e.exitCode };
  }
}

describe("unknown commands and flags get the closest name", () => {
  it("a mistyped command", async () => {
    const r = await run(["hots"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown command 'hots'/);
    expect(r.err).toMatch(/Did you mean one of host, hosts\?/);
    expect((await run(["complation"])).err).toMatch(/Did you mean completion\?/);
  });

  it("a mistyped flag", async () => {
    const r = await run(["services", "--outptu", "json"]);
    expect(r.err).toMatch(/unknown option '--outptu'[\s\S]*Did you mean --output\?/);
  });
});
