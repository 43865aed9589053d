import { describe, expect, it } from "vitest";
import { parseExposition, select, total, value } from "../../cluster/harness/prometheus.js";

const GOOD = `# HELP up Whether it is up.
# TYPE up gauge
up 1
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"} 3
# a plain comment

# TYPE rtt_seconds histogram
rtt_seconds_bucket{le="0.1"} 2
rtt_seconds_bucket{le="+Inf"} 3
rtt_seconds_sum 0.4
rtt_seconds_count 3
# TYPE odd gauge
odd{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb",} NaN
odd{path="x"} -Inf
odd{path="y"} nan
odd 1.5e-3
`;

describe("the strict exposition parser", () => {
  it("reads samples, labels with escapes, types and help", () => {
    const e = parseExposition(GOOD);
    expect(e.types.get("rtt_seconds")).toBe("histogram");
    expect(e.help.get("up")).toBe("Whether it is up.");
    expect(value(e, "up")).toBe(1);
    expect(total(e, "http_requests_total")).toBe(1030);
    expect(value(e, "rtt_seconds_bucket", { le: "+Inf" })).toBe(3);
    const odd = select(e, "odd", { nl: "a\nb" })[0]!;
    expect(odd.labels).toEqual({ path: "C:\\dir", quote: 'say "hi"', nl: "a\nb" });
    expect(odd.value).toBeNaN();
    expect(value(e, "odd", { path: "x" })).toBe(Number.NEGATIVE_INFINITY);
    expect(select(e, "odd")).toHaveLength(4);
    expect(value(e, "odd", { path: "y" })).toBeNaN();
    expect(() => value(e, "odd")).toThrow(/4 samples/);
  });

  it.each([
    ["junk", "# TYPE a gauge\na 1\nthis is not a sample\n", /line 3: not a sample/],
    ["a sample without TYPE", "b 1\n", /without a TYPE/],
    ["a bad value", "# TYPE a gauge\na one\n", /bad value/],
    ["a bad label", '# TYPE a gauge\na{x=1} 1\n', /bad label/],
    ["an unterminated label", '# TYPE a gauge\na{x="1} 1\n', /not a sample|bad label/],
    ["a label twice", '# TYPE a gauge\na{x="1",x="2"} 1\n', /label x twice/],
    ["a series twice", '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n', /the same series twice/],
    ["a second TYPE", "# TYPE a gauge\n# TYPE a counter\n", /second TYPE/],
    ["an unknown type", "# TYPE a thing\n", /unknown type/],
    ["no final newline", "# TYPE a gauge\na 1", /no newline/],
    ["a bucket without le", "# TYPE h histogram\nh_bucket 1\n", /without le/],
    ["a suffix of a gauge", "# TYPE g gauge\ng_count 1\n", /without a TYPE/],
  ])("refuses %s", (_what, text, err) => {
    expect(() => parseExposition(text)).toThrow(err);
  });
});
