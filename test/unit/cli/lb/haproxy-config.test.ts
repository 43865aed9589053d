import { describe, expect, it } from "vitest";
import { HaproxyConfigError, renderHaproxyConfig } from "../../../../cli/lb/haproxy-config.js";

const cfg = `global
    stats socket /run/haproxy/admin.sock level admin

backend app
    balance roundrobin
    server old 10.0.0.9:8080 check

backend other
    server keep 10.0.0.1:80
`;

describe("renderHaproxyConfig", () => {
  it("replaces the backend's server lines with the servers in service, keeping the rest byte for byte", () => {
    const out = renderHaproxyConfig(cfg, "app", [{ name: "web-0_h1", address: "10.0.0.2", port: 8080 }], { service: "web" });
    expect(out).toBe(`global
    stats socket /run/haproxy/admin.sock level admin

backend app
    balance roundrobin
    # servers below are written by berth lb (service web); edits here are overwritten
    server web-0_h1 10.0.0.2:8080

backend other
    server keep 10.0.0.1:80
`);
    // Rendering its own output again changes nothing.
    expect(renderHaproxyConfig(out, "app", [{ name: "web-0_h1", address: "10.0.0.2", port: 8080 }], { service: "web" })).toBe(out);
  });

  it("says so when the backend is not in the file", () => {
    expect(() => renderHaproxyConfig(cfg, "nope", [], { service: "web" })).toThrow(HaproxyConfigError);
  });
});
