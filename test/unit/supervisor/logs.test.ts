import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  checkLogOptions,
  followLog,
  lastLines,
  LogConfigError,
  logPaths,
  rotateIfNeeded,
  tailLog,
  type LogFilesOptions,
} from "../../../agent/supervisor/logs.js";
import { waitFor } from "../../cluster/harness/wait.js";

describe("lastLines", () => {
  const b = (s: string): Buffer => Buffer.from(s);
  it("returns the last n lines, a trailing partial line counting as one", () => {
    expect(lastLines(b("a\nb\nc\n"), 2).toString()).toBe("b\nc\n");
    expect(lastLines(b("a\nb\nc"), 2).toString()).toBe("b\nc");
    expect(lastLines(b("a\nb\n"), 5).toString()).toBe("a\nb\n");
    expect(lastLines(b("a\n"), 0).toString()).toBe("");
    expect(lastLines(b(""), 3).toString()).toBe("");
  });
});

describe("log files", () => {
  let dir: string;
  let opts: LogFilesOptions;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-logs-"));
    opts = { dir, name: "web-1", maxBytes: 100, files: 3 };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const files = (): string[] => logPaths(opts);
  const line = (i: number): string => `line ${String(i).padStart(4, "0")} ${"x".repeat(20)}\n`;

  it("names the files <name>.log, .log.1 … and refuses fewer than two", () => {
    expect(files().map((p) => path.basename(p))).toEqual(["web-1.log", "web-1.log.1", "web-1.log.2"]);
    expect(() => checkLogOptions({ ...opts, files: 1 })).toThrow(LogConfigError);
    expect(() => checkLogOptions({ ...opts, maxBytes: 0 })).toThrow(LogConfigError);
  });

  it("rotates only at the size limit, shifting older files and dropping the oldest", async () => {
    const [cur = "", one = "", two = ""] = files();
    expect(await rotateIfNeeded(opts)).toBe(false); // no file yet
    writeFileSync(cur, "a".repeat(99));
    expect(await rotateIfNeeded(opts)).toBe(false);
    appendFileSync(cur, "a\n");
    expect(await rotateIfNeeded(opts)).toBe(true);
    expect(statSync(cur).size).toBe(0);
    expect(readFileSync(one, "utf8")).toBe("a".repeat(100) + "\n");
    writeFileSync(cur, "b".repeat(100));
    expect(await rotateIfNeeded(opts)).toBe(true);
    writeFileSync(cur, "c".repeat(100));
    expect(await rotateIfNeeded(opts)).toBe(true);
    expect(readFileSync(one, "utf8")).toBe("c".repeat(100));
    expect(readFileSync(two, "utf8")).toBe("b".repeat(100));
    expect(existsSync(`${cur}.3`)).toBe(false);
    expect(existsSync(`${one}.tmp`)).toBe(false);
  });

  it("tails across rotated files, oldest to newest, a line split by rotation staying whole", async () => {
    const [cur = ""] = files();
    for (let i = 0; i < 4; i++) appendFileSync(cur, line(i));
    appendFileSync(cur, "split-");
    await rotateIfNeeded(opts);
    appendFileSync(cur, "line\n");
    for (let i = 4; i < 6; i++) appendFileSync(cur, line(i));
    expect(await tailLog(opts, 3)).toBe("split-line\n" + line(4) + line(5));
    expect((await tailLog(opts, 100)).split("\n").filter(Boolean)).toHaveLength(7);
    expect(await tailLog({ ...opts, name: "nothing" }, 10)).toBe("");
  });

  it("reads back at most its byte cap for a tail, saying so, when the lines asked for are longer than that (output with no newline)", async () => {
    const [cur = ""] = files();
    appendFileSync(cur, "z".repeat(300 * 1024));
    const t = await tailLog(opts, 1, 64 * 1024);
    expect(t).toBe(`[berth: only the last 64 KiB of output are read back for a tail]\n${"z".repeat(64 * 1024)}`);
    // Lines that fit are shown as they are.
    appendFileSync(cur, "\nshort\n");
    expect(await tailLog(opts, 1, 64 * 1024)).toBe("short\n");
  });

  it("follows appends from now on, across rotations, without loss or repetition", async () => {
    const [cur = ""] = files();
    appendFileSync(cur, "before follow\n");
    const got: Buffer[] = [];
    const follower = followLog(opts, (c) => got.push(c), 10);
    try {
      const text = (): string => Buffer.concat(got).toString();
      let n = 0;
      // Three rounds of: write past the limit, rotate, wait until the follower has it all.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 4; i++) appendFileSync(cur, line(n++));
        await waitFor(() => text().endsWith(line(n - 1)), { timeoutMs: 5_000, what: `line ${n - 1} followed` });
        expect(await rotateIfNeeded(opts)).toBe(true);
        appendFileSync(cur, line(n++));
        await waitFor(() => text().endsWith(line(n - 1)), { timeoutMs: 5_000, what: `line ${n - 1} after rotation` });
      }
      const expected = Array.from({ length: n }, (_, i) => line(i)).join("");
      expect(text()).toBe(expected);
    } finally {
      follower.close();
    }
  });

  it("hands a follower the rest of the old generation when a rotation happens between its polls", async () => {
    const [cur = ""] = files();
    const got: Buffer[] = [];
    const follower = followLog(opts, (c) => got.push(c), 200);
    try {
      appendFileSync(cur, line(0) + line(1) + line(2) + line(3));
      // Rotate before the first poll: the four lines are only in .log.1 by then.
      expect(await rotateIfNeeded(opts)).toBe(true);
      appendFileSync(cur, line(4));
      await waitFor(() => Buffer.concat(got).toString() === line(0) + line(1) + line(2) + line(3) + line(4), {
        timeoutMs: 5_000,
        what: "all five lines",
      });
    } finally {
      follower.close();
    }
  });

  it("a paused follower reads nothing more (at most the chunk in hand), and on resume delivers what came meanwhile, across a rotation, exactly once", async () => {
    const [cur = ""] = files();
    const big = { ...opts, maxBytes: 1024 * 1024 };
    const chunks: Buffer[] = [];
    const witness: Buffer[] = [];
    const text = (b: Buffer[]): string => Buffer.concat(b).toString();
    const paused = followLog(
      big,
      (c) => {
        chunks.push(c);
        if (chunks.length === 1) paused.pause(); // a full window, right after the first chunk
      },
      10,
    );
    const control = followLog(big, (c) => witness.push(c), 10);
    try {
      const first = "a".repeat(300 * 1024); // five 64 KiB reads' worth
      appendFileSync(cur, first);
      // The unpaused follower has had it all: the paused one had as many polls meanwhile.
      await waitFor(() => text(witness).length === first.length || undefined, { timeoutMs: 5_000, what: "the control follower" });
      expect(chunks).toHaveLength(1);
      expect(chunks[0]!.length).toBe(64 * 1024);
      // One rotation while paused: the rest of the old generation is read from .1.
      expect(await rotateIfNeeded({ ...opts, maxBytes: 100 })).toBe(true);
      appendFileSync(cur, "after rotation\n");
      paused.resume();
      await waitFor(() => text(chunks) === first + "after rotation\n" || undefined, { timeoutMs: 5_000, what: `all of it once (got ${text(chunks).length})` });
    } finally {
      paused.close();
      control.close();
    }
  });
});
