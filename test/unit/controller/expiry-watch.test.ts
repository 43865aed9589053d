import { describe, expect, it } from "vitest";
import { expiryWarnings, type WatchedCert } from "../../../controller/pki/expiry-watch.js";

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

describe("expiryWarnings", () => {
  const certs: WatchedCert[] = [
    { kind: "host", name: "3fa9", serial: "A1", notAfterMs: NOW + 6 * DAY },
    { kind: "host", name: "77bc", serial: "B2", notAfterMs: NOW + 20 * DAY },
    { kind: "server", name: "controller", serial: "C3", notAfterMs: NOW + 2 * DAY },
    { kind: "ca", name: "controller", serial: "D4", notAfterMs: NOW - 1 },
  ];

  it("warns about every certificate within seven days of its end, naming it, its expiry and the remedy", () => {
    const { events, serials } = expiryWarnings(certs, NOW, new Set());
    expect(events.map((e) => [e.type, e.host])).toEqual([
      ["cert.expiring", "3fa9"],
      ["cert.expiring", undefined],
      ["cert.expired", undefined],
    ]);
    expect(events[0]!.message).toBe(`the certificate of host 3fa9 expires at ${new Date(NOW + 6 * DAY).toISOString()} (within 7d): its agent renews it while connected: check that the agent runs and reaches the controller`);
    expect(events[1]!.message).toMatch(/serving certificate expires .* restart the controller/);
    expect(serials).toEqual(["host:A1:expiring", "server:C3:expiring", "ca:D4:expired"]);
  });

  it("warns once per certificate: a renewed one (new serial) is a new certificate", () => {
    const warned = new Set(["host:A1:expiring", "server:C3:expiring", "ca:D4:expired"]);
    expect(expiryWarnings(certs, NOW, warned).events).toEqual([]);
    // Warned as expiring, then left to expire: warned again, as expired.
    expect(expiryWarnings(certs, NOW + 7 * DAY, warned).events.map((e) => [e.type, e.host])).toEqual([
      ["cert.expired", "3fa9"],
      ["cert.expired", undefined],
    ]);
    const renewed = certs.map((c) => (c.serial === "A1" ? { ...c, serial: "A9", notAfterMs: NOW + 30 * DAY } : c));
    expect(expiryWarnings(renewed, NOW, warned).events).toEqual([]);
  });
});
