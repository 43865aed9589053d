/** `berth render` shows a file's spec errors as plan and apply do: at most 10, then how many more. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "../../../cli/run/render.js";
import { CliError } from "../../../cli/errors.js";

describe("berth render of a file that is no spec", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints its first 10 errors and how many more, not every one", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-render-"));
    const file = join(dir, "notes.yaml");
    await writeFile(file, Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: this is: prose\n  and: not [a spec\n`).join("\n"));
    const err = await render({ file: [file], output: "yaml" }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    const lines = (err as CliError).message.split("\n").filter((l) => l.includes("notes.yaml"));
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.at(-1)).toMatch(/notes\.yaml: … and \d+ more \(is it a service spec\?\)/);
  });
});
