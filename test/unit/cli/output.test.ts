import { describe, expect, it } from "vitest";
import { printable, table } from "../../../cli/output.js";

describe("tables", () => {
  it("show control characters from hosts and clients as \\xNN, so they cannot move the cursor or fake rows", () => {
    expect(printable("db1\u001b[2J\u001b[H")).toBe("db1\\x1b[2J\\x1b[H");
    expect(printable("a\r\nb\tc\u0007\u009b")).toBe("a\\x0d\\x0ab\\x09c\\x07\\x9b");
    const t = table(["HOST", "CMD"], [["h1", "ok\nh2  rm -rf /"]]);
    expect(t.split("\n")).toHaveLength(2);
    expect(t).toContain("ok\\x0ah2  rm -rf /");
  });

  it("keep the colours the CLI adds", () => {
    const red = "\u001b[31mfailed\u001b[0m";
    expect(printable(red)).toBe(red);
  });
});
