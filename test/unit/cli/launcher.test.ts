/**
 * The `berth` bin (cli/launcher.sh) and the snapshot entry (cli/snapshot.ts)
 * agree on what the snapshot leaves out (cli/snapshot-scope.ts): a command the
 * launcher sent to a snapshot that does not hold it would fail. What the
 * launcher does with real processes is test/cluster/launcher.test.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NOT_IN_SNAPSHOT } from "../../../cli/snapshot-scope.js";

const read = (rel: string): string => readFileSync(fileURLToPath(new URL(`../../../${rel}`, import.meta.url)), "utf8");

describe("the launcher and the snapshot", () => {
  it("send the same commands to main.js", () => {
    const m = /^\s*([a-z]+(?:\s*\|\s*[a-z]+)*)\)\s*why="berth \$cmd is not in the snapshot"/m.exec(read("cli/launcher.sh"));
    expect(m, "launcher.sh's case of the commands not in the snapshot").not.toBeNull();
    expect(m![1]!.split("|").map((s) => s.trim()).sort()).toEqual([...NOT_IN_SNAPSHOT].sort());
  });

  it("the snapshot entry loads no daemon's module", () => {
    const imports = [...read("cli/snapshot.ts").matchAll(/^import .*"(\.[^"]+)";$/gm)].map((m) => m[1]!);
    expect(imports.length).toBeGreaterThan(5);
    for (const i of imports) expect(i).not.toMatch(/run\/(daemons|dev|agent-install)\.js|lb\//);
  });
});
