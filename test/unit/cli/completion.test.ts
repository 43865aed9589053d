import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Command } from "commander";
import { program } from "../../../cli/main.js";
import { bashScript, completionTree, zshScript } from "../../../cli/completion.js";

const dir = mkdtempSync(join(tmpdir(), "berth-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every command path of the real CLI, walked independently of the generator. */
function allPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...allPaths(c, [...prefix, c.name()])]);
}

const hasZsh = spawnSync("zsh", ["--version"]).status === 0;

describe("berth completion", () => {
  const bash = bashScript("berth", program);
  const zsh = zshScript("berth", program);
  const paths = allPaths(program);

  it("walks the real command tree: every command and every flag is in both scripts", () => {
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.map((p) => p.join(" "))).toEqual(expect.arrayContaining(["hosts", "host show", "token create", "agent install", "completion", "drain"]));
    const nodes = new Map(completionTree(program).map((n) => [n.path, n]));
    for (const p of paths) {
      const parent = p.slice(0, -1).join(" ");
      expect(nodes.get(parent)?.subcommands.map((s) => s.name), p.join(" ")).toContain(p.at(-1));
      const node = nodes.get(p.join(" "));
      expect(node, p.join(" ")).toBeDefined();
      // The parent's arm lists the name; the command's own arm lists each of its flags.
      expect(bash).toMatch(new RegExp(`'${parent}'\\) printf '%s\\\\n' '[^']*\\b${p.at(-1)}\\b`));
      expect(zsh).toContain(`'${p.at(-1)}:`);
      for (const o of node!.options) for (const f of o.flags) expect(bash, `${p.join(" ")} ${f}`).toMatch(new RegExp(`'${p.join(" ")}'\\) printf '%s\\\\n' '(?:[^']* )?${f}( |')`));
    }
  });

  it("bash -n accepts the bash script, and it completes commands, flags and their values", () => {
    const file = join(dir, "berth.bash");
    writeFileSync(file, bash);
    execFileSync("bash", ["-n", file]);
    const probe = (words: string[]): string =>
      execFileSync("bash", ["-c", `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _berth; echo "\${COMPREPLY[*]}"`], { encoding: "utf8" }).trim();
    expect(probe(["berth", "ho"]).split(" ").sort()).toEqual(["host", "hosts"]);
    expect(probe(["berth", "host", ""])).toBe("remove show");
    expect(probe(["berth", "--debug", "hosts", "-o", ""])).toBe("table json yaml");
    expect(probe(["berth", "token", "create", "--ro"])).toBe("--role");
    // A flag's value is not taken for a command: --host abc is skipped.
    expect(probe(["berth", "events", "--host", "abc", "--fo"])).toBe("--follow");
    expect(probe(["berth", "completion", ""])).toBe("bash zsh");
  });

  it.skipIf(!hasZsh)("zsh -n accepts the zsh script", () => {
    const file = join(dir, "_berth");
    writeFileSync(file, zsh);
    execFileSync("zsh", ["-n", file]);
  });
});
