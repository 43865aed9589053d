/* eslint-disable no-control-regex -- these tests are about control characters */
import { describe, expect, it } from "vitest";
import { colour, printStreamData, Styled, table, txt } from "../../../cli/output.js";
import { sanitize } from "../../../shared/text/sanitize.js";

describe("tables", () => {
  it("show control characters from hosts and clients as \\xNN, so they cannot move the cursor or fake rows", () => {
    const t = table(["HOST", "CMD"], [["h1", "ok\nh2  rm -rf /"]]);
    expect(t.split("\n")).toHaveLength(2);
    expect(t).toContain("ok\\x0ah2  rm -rf /");
  });

  it("keep the colours the CLI adds, and escape the ones a host sends", () => {
    const ours = new Styled("\u001b[31mfailed\u001b[0m");
    const theirs = "\u001b[31mfailed\u001b[0m";
    const t = table(["A", "B"], [[ours, theirs]]);
    expect(t).toContain("\u001b[31mfailed\u001b[0m  \\x1b[31mfailed\\x1b[0m");
  });

  it("measure columns on the visible text: our colours take no width, escaped bytes take theirs", () => {
    const t = table(["STATE", "HOST"], [[new Styled("\u001b[32mok\u001b[0m"), "a"], ["failed", "\u001b[2Jb"]]).split("\n");
    // The HOST column starts at the same place on every line, colour or not.
    expect(t.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ""))).toEqual(["STATE   HOST", "ok      a", "failed  \\x1b[2Jb"]);
    expect(t[1]).toBe("\u001b[32mok\u001b[0m      a");
  });
});

describe("txt and colour", () => {
  it("sanitize what is interpolated, not the template, and let Styled parts through", () => {
    const host = "web\u001b]0;pwned\u0007";
    const line = txt`host ${host} is ${colour("red", "down")}\n`;
    expect(line).toBeInstanceOf(Styled);
    expect(line.text).toMatch(/^host web\\x1b\]0;pwned\\x07 is (\u001b\[31m)?down(\u001b\[0m)?\n$/);
    expect(colour("red", "\u001b[2J").text).toContain("\\x1b[2J");
    expect(`${txt`${1} ${2n} ${true}`}`).toBe("1 2 true");
  });
  it("idempotent: what is escaped once is not escaped again", () => {
    const once = sanitize("\u001b[2J");
    expect(sanitize(once)).toBe(once);
  });
});

describe("printStreamData", () => {
  it("writes a followed stream as JSON Lines or as YAML documents, each readable as a stream; a table is left to the caller", async () => {
    const { parseAllDocuments } = await import("yaml");
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    try {
      expect(printStreamData("json", { seq: 1, type: "a" })).toBe(true);
      expect(printStreamData("json", { seq: 2, type: "b" })).toBe(true);
      const lines = out.splice(0).join("").trim().split("\n");
      expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([{ seq: 1, type: "a" }, { seq: 2, type: "b" }]);
      printStreamData("yaml", { seq: 1, type: "a" });
      printStreamData("yaml", { seq: 2, type: "b" });
      expect(parseAllDocuments(out.splice(0).join("")).map((d) => (d as { toJS(): unknown }).toJS())).toEqual([{ seq: 1, type: "a" }, { seq: 2, type: "b" }]);
      expect(printStreamData("table", {})).toBe(false);
      expect(out).toEqual([]);
    } finally {
      process.stdout.write = write;
    }
  });
});
