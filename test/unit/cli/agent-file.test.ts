// agent.yaml's keepArtifacts and keepLogs: whole numbers in bounds, or the file is refused naming the line.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readAgentFile } from "../../../cli/run/daemons.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-agent-file-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const read = async (yaml: string): Promise<Awaited<ReturnType<typeof readAgentFile>>> => {
  const file = join(dir, "agent.yaml");
  await writeFile(file, yaml);
  return readAgentFile(file);
};

describe.each(["keepArtifacts", "keepLogs"] as const)("agent.yaml %s", (key) => {
  it("takes a whole number", async () => {
    expect((await read(`controller: 10.0.0.5:7420\n${key}: 5\n`))[key]).toBe(5);
    expect((await read(`${key}: 0\n`))[key]).toBe(0);
    expect((await read("controller: 10.0.0.5:7420\n"))[key]).toBeUndefined();
  });

  it.each(["-1", "2.5", '"3"', "1001", "lots"])("refuses %s, naming the line", async (v) => {
    await expect(read(`controller: 10.0.0.5:7420\n${key}: ${v}\n`)).rejects.toThrow(new RegExp(`agent\\.yaml:2: ${key}: expected a whole number from 0 to 1000`));
  });
});
