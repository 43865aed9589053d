/** Whole-number flags and the bearer token, checked where the CLI reads them. */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCountFlag } from "../../../cli/count-flag.js";
import { resolveClientConfig } from "../../../cli/config.js";
import { CliError, shownInput } from "../../../cli/errors.js";

describe("a whole-number flag", () => {
  it("takes digits within its bounds", () => {
    expect(parseCountFlag("--uses", "1", 1, 10)).toBe(1);
    expect(parseCountFlag("--tail", "0", 0, 10)).toBe(0);
    expect(parseCountFlag("--uses", "10", 1, 10)).toBe(10);
  });

  it("refuses what Number() would have taken: an empty value, blanks, hex, exponents, signs", () => {
    // `--uses ""` (an unset $N) was 0: a join token anyone could use any number of times.
    for (const v of ["", " 3", "3 ", "0x10", "1e3", "+3", "-1", "3.0", "0", "11", "९"]) {
      expect(() => parseCountFlag("--uses", v, 1, 10), v).toThrow(CliError);
    }
    expect(() => parseCountFlag("--uses", "", 1, 10)).toThrow(/^--uses "": expected a whole number from 1 to 10$/);
    expect(() => parseCountFlag("--ui-port", "x", 1, 65535, ", or off")).toThrow(/^--ui-port x: expected a whole number from 1 to 65535, or off$/);
  });

  it("repeats at most 64 characters of what it was given, quoted when it is not plain text", () => {
    expect(() => parseCountFlag("-n", "9".repeat(100_000), 1, 10)).toThrow(/^-n 9{63}…: expected/);
    expect(shownInput("a\nb")).toBe('"a\\nb"');
    expect(shownInput("web")).toBe("web");
  });
});

describe("the bearer token", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function env(token: string): Promise<NodeJS.ProcessEnv> {
    const dir = await mkdtemp(join(tmpdir(), "berth-tok-"));
    dirs.push(dir);
    await writeFile(join(dir, "ca.crt"), "pem");
    return { BERTH_CONFIG: join(dir, "none.json"), BERTH_ADDR: "127.0.0.1:7420", BERTH_CA: join(dir, "ca.crt"), BERTH_TOKEN: token };
  }

  it("read with its line end (a CRLF file, $(cat token)) is the token without it", async () => {
    expect((await resolveClientConfig({}, await env("bt1.abc.def\r\n"))).token).toBe("bt1.abc.def");
    expect((await resolveClientConfig({}, await env(" bt1.abc.def "))).token).toBe("bt1.abc.def");
  });

  it("holding a space or control character inside is refused, naming where it came from and never showing it", async () => {
    const secret = "bt1.abc.SECRETPART\u0001x";
    const err = await resolveClientConfig({}, await env(secret)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as CliError).message).toBe("BERTH_TOKEN: not a berth token (it holds a space or control character)");
    expect(`${(err as CliError).message} ${(err as CliError).hint ?? ""}`).not.toContain("SECRETPART");
  });
});
