import { describe, expect, it } from "vitest";
import { closest, editDistance } from "../../../shared/closest.js";
import { HostNotFoundError, suggestHost } from "../../../controller/hosts/registry.js";

describe("closest names", () => {
  it("edit distance", () => {
    expect(editDistance("web", "web")).toBe(0);
    expect(editDistance("web", "wbe")).toBe(2);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("suggests a near name, and nothing when none is near", () => {
    expect(closest("wbe", ["web", "db", "api"])).toBe("web");
    expect(closest("payments-api", ["payment-api", "web"])).toBe("payment-api");
    expect(closest("zzz", ["web", "db"])).toBeUndefined();
    expect(closest("x", [])).toBeUndefined();
  });
});

describe("closest host", () => {
  const hosts = [
    { id: "3fa9c2e1b7d4", hostname: "web-01" },
    { id: "8b01d2c3e4f5", hostname: "web-02" },
    { id: "c0ffee123456", hostname: "db" },
    { id: "d00d00d00d00", hostname: "dev" },
    { id: "e00e00e00e00", hostname: "dev" },
  ];

  it("a hostname given for an id points to that host's id", () => {
    expect(suggestHost("web-02", hosts)?.id).toBe("8b01d2c3e4f5");
    expect(suggestHost("WEB-01", hosts)?.id).toBe("3fa9c2e1b7d4");
  });

  it("an id prefix with a typo points to the id", () => {
    expect(suggestHost("3fb9", hosts)?.id).toBe("3fa9c2e1b7d4");
    expect(suggestHost("c0ffee12345", hosts)?.id).toBe("c0ffee123456");
    expect(suggestHost("3e", hosts)).toBeUndefined(); // too short to guess
    expect(suggestHost("99", hosts)).toBeUndefined();
  });

  it("a hostname with a typo points to the host; a hostname shared by several to none", () => {
    expect(suggestHost("web-1", hosts)?.id).toBe("3fa9c2e1b7d4");
    expect(suggestHost("dev", hosts)).toBeUndefined();
    expect(suggestHost("zzzzzzzz", hosts)).toBeUndefined();
  });

  it("the error says it", () => {
    expect(new HostNotFoundError("3fb9", "none", hosts[0]).message).toBe('no host "3fb9"; did you mean "3fa9c2e1b7d4" (web-01)?');
    expect(new HostNotFoundError("zz", "none").message).toBe('no host "zz"');
  });
});
