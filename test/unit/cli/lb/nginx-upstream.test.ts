import { describe, expect, it } from "vitest";
import { renderUpstream } from "../../../../cli/lb/nginx-upstream.js";

describe("renderUpstream", () => {
  it("one server line per copy in service", () => {
    const out = renderUpstream({ upstream: "web", service: "web", version: "ab", servers: [{ name: "web-0_h1", address: "10.0.0.2", port: 8080 }, { name: "web-1_h2", address: "fd00::3", port: 8080 }] });
    expect(out).toContain("upstream web {\n    server 10.0.0.2:8080; # web-0_h1\n    server [fd00::3]:8080; # web-1_h2\n}\n");
  });

  it("with no copy in service, a server that is down, since nginx refuses an empty upstream", () => {
    expect(renderUpstream({ upstream: "web", service: "web", version: "", servers: [] })).toContain("server 127.0.0.1:9 down;");
  });
});
