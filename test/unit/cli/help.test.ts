import { describe, expect, it, vi } from "vitest";
import type { Command } from "commander";
import { program } from "../../../cli/main.js";
import { runCli } from "../../../cli/program.js";
import { FORMATS } from "../../../cli/output.js";

/** Every command of the real CLI with its path, walked from the tree so new ones are covered too. */
function walk(cmd: Command, prefix: string[] = []): { path: string; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [{ path: [...prefix, c.name()].join(" "), cmd: c }, ...walk(c, [...prefix, c.name()])]);
}

/** The whole --help text, the "after" text (examples) included. */
function helpOf(cmd: Command): string {
  let out = "";
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

const runnable = (c: Command): boolean => (c as unknown as { _actionHandler: unknown })._actionHandler != null;

/** Commands that read and print state: each takes -o with the three formats. */
const READ = ["hosts", "host show", "events", "audit", "services", "status", "endpoints", "plan", "apply", "token create"];

describe("every command", () => {
  const all = walk(program);

  it("that runs has --help with an example", () => {
    const cmds = all.filter((x) => runnable(x.cmd));
    expect(cmds.length).toBeGreaterThan(20);
    for (const { path, cmd } of cmds) expect(helpOf(cmd), path).toMatch(/\nExamples?:\n {2}(#.*\n {2})?(sudo )?berth /);
  });

  it("that reads state takes -o table|json|yaml", () => {
    const byPath = new Map(all.map((x) => [x.path, x.cmd]));
    for (const path of READ) {
      const o = byPath.get(path)?.options.find((x) => x.long === "--output");
      expect(o, path).toBeDefined();
      expect(o!.short, path).toBe("-o");
      const desc = o!.description;
      // host show defaults to yaml and takes table as yaml; the rest list all three.
      for (const f of FORMATS) if (path !== "host show" || f !== "table") expect(desc, `${path} -o ${f}`).toContain(f);
    }
  });
});

describe("the shared flags", () => {
  it("--addr and --debug are taken by every command that calls the controller, `berth controllers` included", () => {
    const without = walk(program)
      .filter((x) => runnable(x.cmd) && !x.cmd.options.some((o) => o.long === "--addr"))
      .map((x) => x.path);
    // Daemons and commands that read files only.
    expect(without.sort()).toEqual(["agent", "agent install", "completion", "controller", "dev", "lb install", "render", "schema"]);
    const controllers = walk(program).find((x) => x.path === "controllers")!.cmd;
    expect(controllers.options.map((o) => o.long)).toEqual(expect.arrayContaining(["--addr", "--debug"]));
  });
});

describe("berth exec's own failures", () => {
  it("exit 255 for a bad flag, as ssh: no remote command's code is ambiguous", async () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const before = process.exitCode;
    try {
      await runCli(["node", "berth", "exec", "3fa9", "--bogus", "--", "true"]);
      expect(process.exitCode).toBe(255);
      await runCli(["node", "berth", "hosts", "--bogus"]);
      expect(process.exitCode).toBe(2);
      // schema prints a JSON Schema: a table of it is refused, as its help says (json or yaml).
      process.exitCode = 0;
      await runCli(["node", "berth", "schema", "-o", "table"]);
      expect(process.exitCode).toBe(2);
    } finally {
      process.exitCode = before;
      write.mockRestore();
    }
  });
});

describe("an empty flag value given on the command line", () => {
  it("is refused, naming the flag (an unset shell variable), not taken as 'no filter'; exec's with 255", async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      lines.push(String(s));
      return true;
    });
    const before = process.exitCode;
    try {
      await runCli(["node", "berth", "events", "--host", ""]);
      expect(process.exitCode).toBe(2);
      expect(lines.join("")).toMatch(/^berth: --host: empty value\n {2}leave --host out, or give it a value/);
      lines.length = 0;
      await runCli(["node", "berth", "events", "-n", ""]);
      expect(lines.join("")).toMatch(/^berth: -n\/--limit: empty value/);
      await runCli(["node", "berth", "exec", "3fa9", "--instance", "", "--", "true"]);
      expect(process.exitCode).toBe(255);
    } finally {
      process.exitCode = before;
      write.mockRestore();
    }
  });
});
