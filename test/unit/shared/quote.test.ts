import { describe, expect, it } from "vitest";
import { quote } from "../../../shared/text/quote.js";

describe("a name an error repeats", () => {
  it("is quoted, one line whatever it holds, and cut", () => {
    expect(quote("web")).toBe('"web"');
    expect(quote("a\nb")).toBe('"a\\nb"');
    expect(quote("\u001b[31mred")).toBe('"\\u001b[31mred"');
    expect(quote("x".repeat(100_000))).toBe(`"${"x".repeat(64)}…"`);
  });
});
