import { describe, expect, it, vi } from "vitest";
import { bar, isLive, progress, ticking, type ProgressStream } from "../../../cli/progress.js";

function fake(isTTY: boolean, columns = 80): ProgressStream & { out: string } {
  const s = { isTTY, columns, out: "", write: (c: string) => ((s.out += c), true) };
  return s;
}

/** What a terminal would show: carriage returns, clear-line, cursor-up and clear-down applied. */
function screen(out: string): string[] {
  const rows: string[] = [""];
  let r = 0;
  let col = 0;
  for (let i = 0; i < out.length; i++) {
    const ch = out[i]!;
    if (ch === "\u001b") {
      // eslint-disable-next-line no-control-regex -- an escape sequence is what it parses
      const m = /^\u001b\[(\d*)([AKJ])/.exec(out.slice(i))!;
      if (m[2] === "A") r = Math.max(0, r - Number(m[1] || 1));
      if (m[2] === "K") rows[r] = rows[r]!.slice(0, col);
      if (m[2] === "J") {
        rows[r] = rows[r]!.slice(0, col);
        rows.length = r + 1;
      }
      i += m[0].length - 1;
    } else if (ch === "\r") col = 0;
    else if (ch === "\n") {
      r++;
      col = 0;
      rows[r] ??= "";
    } else {
      const row = rows[r]!;
      rows[r] = row.slice(0, col) + ch + row.slice(col + 1);
      col++;
    }
  }
  return rows;
}

describe("progress", () => {
  it("live only on a terminal without NO_COLOR or CI", () => {
    expect(isLive(fake(true), {})).toBe(true);
    expect(isLive(fake(false), {})).toBe(false);
    expect(isLive(fake(true), { NO_COLOR: "1" })).toBe(false);
    expect(isLive(fake(true), { CI: "true" })).toBe(false);
  });

  it("draws a bar when the total is known", () => {
    expect(bar(0, 4)).toBe(`[${"░".repeat(20)}] 0/4`);
    expect(bar(2, 4)).toBe(`[${"█".repeat(10)}${"░".repeat(10)}] 2/4`);
    expect(bar(9, 4)).toBe(`[${"█".repeat(20)}] 9/4`);
    expect(bar(0, undefined)).toBe("");
  });

  it("on a terminal: updates in place with \\r and ANSI codes, detail lines under it, permanent lines above", () => {
    const s = fake(true);
    const p = progress({ stream: s, total: 3, label: "web", env: {}, spinMs: 0 });
    expect(p.live).toBe(true);
    p.update({ done: 1, label: "web: 1/3 healthy", lines: ["web-0 healthy", "web-1 starting"] });
    expect(s.out).toContain("\r");
    expect(s.out).toContain("\u001b[K");
    expect(screen(s.out)).toEqual([`⠋ ${bar(1, 3)} web: 1/3 healthy`, "  web-0 healthy", "  web-1 starting"]);
    p.update({ done: 2, lines: ["web-0 healthy"] });
    expect(s.out).toContain("\u001b[2A"); // back up over the old three-line block
    expect(screen(s.out)).toEqual([`⠋ ${bar(2, 3)} web: 1/3 healthy`, "  web-0 healthy"]);
    p.line("web-1 moved to 3fa9");
    expect(screen(s.out)).toEqual(["web-1 moved to 3fa9", `⠋ ${bar(2, 3)} web: 1/3 healthy`, "  web-0 healthy"]);
    p.done("web: 3/3 healthy");
    expect(screen(s.out)).toEqual(["web-1 moved to 3fa9", "web: 3/3 healthy", ""]);
    const before = s.out;
    p.update({ done: 3 });
    p.done("again");
    expect(s.out).toBe(before);
  });

  it("on a terminal: long lines are cut to the width, so redraws stay aligned", () => {
    const s = fake(true, 30);
    const p = progress({ stream: s, env: {}, spinMs: 0 });
    p.update({ label: "x".repeat(100), lines: ["y".repeat(100)] });
    for (const row of screen(s.out)) expect([...row].length).toBeLessThan(30);
    p.done();
    expect(screen(s.out)).toEqual([""]);
  });

  it("on a terminal: the spinner turns by itself", () => {
    vi.useFakeTimers();
    try {
      const s = fake(true);
      const p = progress({ stream: s, label: "waiting", env: {}, spinMs: 5 });
      vi.advanceTimersByTime(40);
      p.done();
      expect(s.out).toContain("⠙ waiting");
    } finally {
      vi.useRealTimers();
    }
  });

  for (const [what, s, env] of [
    ["piped", fake(false), {}],
    ["with NO_COLOR", fake(true), { NO_COLOR: "1" }],
    ["under CI", fake(true), { CI: "true" }],
  ] as const) {
    it(`${what}: plain lines, one per change, no control codes`, () => {
      const p = progress({ stream: s, total: 3, label: "web", env, spinMs: 0 });
      expect(p.live).toBe(false);
      p.update({ done: 0, lines: ["web-0 pending"] });
      p.update({ done: 1, label: "web: 1/3 healthy", lines: ["web-0 healthy", "web-1 starting"] });
      p.update({ done: 1, label: "web: 1/3 healthy", lines: ["web-0 healthy", "web-1 starting"] }); // no change: nothing
      p.line("web-1 moved to 3fa9");
      p.update({ done: 3, label: "web: 3/3 healthy", lines: ["web-0 healthy", "web-1 healthy"] });
      p.done("done");
      expect(s.out).not.toContain("\r");
      expect(s.out).not.toContain("\u001b");
      expect(s.out.split("\n")).toEqual([
        "0/3 web",
        "  web-0 pending",
        "1/3 web: 1/3 healthy",
        "  web-0 healthy",
        "  web-1 starting",
        "web-1 moved to 3fa9",
        "3/3 web: 3/3 healthy",
        "  web-1 healthy",
        "done",
        "",
      ]);
    });
  }

  it("piped: a detail line whose only change is a ticking time is not printed again", () => {
    const s = fake(false);
    const p = progress({ stream: s, label: "waiting for web to be healthy", env: {}, spinMs: 0 });
    for (const left of [8, 7, 6]) p.update({ lines: [`web-0: pending — failed on h1 (1×, last 2s ago); next attempt in ${left}s`] });
    p.update({ lines: ["web-0 on h2: installing"] });
    p.done();
    expect(s.out.split("\n").filter((l) => l.startsWith("  "))).toEqual(["  web-0: pending — failed on h1 (1×, last 2s ago); next attempt in 8s", "  web-0 on h2: installing"]);
    expect(ticking("next attempt in 8s, after 1.5s and 250ms")).toBe("next attempt in …, after … and …");
  });

  it("piped: an age's first tick ('just now', then '1s ago') and a backoff that grows a unit are no news either", () => {
    const s = fake(false);
    const p = progress({ stream: s, label: "waiting for web to be healthy", env: {}, spinMs: 0 });
    const at = (last: string, left: string): string => `web-0: pending — waiting to reschedule: failed on h1 (2×, last ${last}) in the last 1h; next attempt in ${left} (backoff 30s)`;
    for (const [last, left] of [["just now", "29s"], ["1s ago", "28s"], ["2s ago", "27s"]]) p.update({ lines: [at(last!, left!)] });
    // A third failure is news.
    p.update({ lines: [at("just now", "59s").replace("2×", "3×").replace("30s)", "1m)")] });
    p.done();
    expect(s.out.split("\n").filter((l) => l.startsWith("  "))).toHaveLength(2);
  });
});
