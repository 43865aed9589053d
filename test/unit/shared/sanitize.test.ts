import { describe, expect, it } from "vitest";
import { padVisible, sanitize, sanitizeLines, sanitizeTree, terminalSafeJson, visibleWidth } from "../../../shared/text/sanitize.js";

describe("sanitize", () => {
  it("escapes C0, DEL and C1 controls as \\xNN: CSI, OSC (title, clipboard), bells, carriage returns", () => {
    expect(sanitize("db1\u001b[2J\u001b[H")).toBe("db1\\x1b[2J\\x1b[H");
    expect(sanitize("\u001b]0;title\u0007")).toBe("\\x1b]0;title\\x07");
    expect(sanitize("\u001b]52;c;cm0gLXJmIH4=\u001b\\")).toBe("\\x1b]52;c;cm0gLXJmIH4=\\x1b\\");
    expect(sanitize("a\r\nb\tc\u0007\u007f\u009b31m")).toBe("a\\x0d\\x0ab\\x09c\\x07\\x7f\\x9b31m");
    expect(sanitize("\u0000")).toBe("\\x00");
  });
  it("escapes colour too: only berth colours what berth prints", () => {
    expect(sanitize("\u001b[31mred\u001b[0m")).toBe("\\x1b[31mred\\x1b[0m");
  });
  it("escapes bidi overrides and invisible characters (Trojan Source) as \\uNNNN", () => {
    expect(sanitize("admin\u202e\u2066x\u200b\ufeff")).toBe("admin\\u202e\\u2066x\\u200b\\ufeff");
  });
  it("leaves printable text alone, non-ASCII included", () => {
    const s = "web-0 → 3fa9c2 (bücher, 日本) — ok \\x1b";
    expect(sanitize(s)).toBe(s);
  });
  it("sanitizeLines keeps newlines and tabs, nothing else", () => {
    expect(sanitizeLines("E: unable\n\tlocate\r\u001b[1A")).toBe("E: unable\n\tlocate\\x0d\\x1b[1A");
  });
});

describe("visibleWidth", () => {
  it("counts code points, not our colour sequences nor UTF-16 units", () => {
    expect(visibleWidth("\u001b[31mdown\u001b[0m")).toBe(4);
    expect(visibleWidth("🚀ab")).toBe(3);
    expect(visibleWidth(sanitize("\u001b[2J"))).toBe(7);
    expect(padVisible("\u001b[32mok\u001b[0m", 4)).toBe("\u001b[32mok\u001b[0m  ");
  });
});

describe("structured output of what hosts wrote", () => {
  const hostile = "h\u001b]0;PWNED\u0007\u009b31m\u202eabc";

  it("JSON keeps the data exact and shows no control on a terminal", () => {
    const text = terminalSafeJson(JSON.stringify({ hostname: hostile, [hostile]: [hostile] }, null, 2));
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain("\\u009b");
    expect(JSON.parse(text)).toEqual({ hostname: hostile, [hostile]: [hostile] });
  });

  it("a tree for YAML has every string and key sanitized, other values kept", () => {
    expect(sanitizeTree({ a: hostile, n: 3, ok: true, none: null, list: [hostile, 1], [hostile]: { deep: hostile } })).toEqual({
      a: sanitize(hostile),
      n: 3,
      ok: true,
      none: null,
      list: [sanitize(hostile), 1],
      [sanitize(hostile)]: { deep: sanitize(hostile) },
    });
  });
});
