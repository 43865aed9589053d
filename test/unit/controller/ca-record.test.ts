import { beforeAll, describe, expect, it } from "vitest";
import { caFingerprint, createCa, type CertAndKey } from "../../../shared/tls/pki.js";
import {
  bundlePem,
  CaRecordSchema,
  caPhase,
  renewWithinMs,
  retireIfDone,
  RotationInProgressError,
  rotationProgress,
  servingCa,
  signingCa,
  startRotation,
  trustedCas,
  type CaRecord,
} from "../../../controller/pki/ca-record.js";
import { decodeRecord } from "../../../controller/store/record.js";

let a: CertAndKey;
let b: CertAndKey;
let fpA: string;
let fpB: string;

beforeAll(async () => {
  a = await createCa({ commonName: "A" });
  b = await createCa({ commonName: "B" });
  fpA = caFingerprint(a.certPem);
  fpB = caFingerprint(b.certPem);
});

const T0 = 1_700_000_000_000;

describe("CA rotation as a state machine", () => {
  it("idle: trusts, signs with and serves from the one CA", () => {
    const r: CaRecord = { ...a };
    expect(caPhase(r)).toBe("idle");
    expect(trustedCas(r)).toEqual([a.certPem]);
    expect(signingCa(r)).toEqual(a);
    expect(servingCa(r)).toEqual(a);
    expect(bundlePem(r)).toBe(a.certPem.trim());
    expect(renewWithinMs(r)).toBe(0);
    expect(retireIfDone(r, [], T0)).toBeUndefined();
  });

  it("rotating: trusts both, signs with the new, still serves from the old", () => {
    const r = startRotation({ ...a }, b, { nowMs: T0, by: "tok1", spreadMs: 5000 });
    expect(caPhase(r)).toBe("rotating");
    expect(trustedCas(r)).toEqual([a.certPem, b.certPem]);
    expect(bundlePem(r)).toBe(a.certPem.trim() + "\n" + b.certPem.trim());
    expect(signingCa(r)).toEqual(b);
    expect(servingCa(r)).toEqual(a);
    expect(r.rotation).toMatchObject({ startedAtMs: T0, by: "tok1", spreadMs: 5000 });
  });

  it("refuses a second rotation while one is in progress", () => {
    const r = startRotation({ ...a }, b, { nowMs: T0, by: "t", spreadMs: 1 });
    expect(() => startRotation(r, a, { nowMs: T0 + 1, by: "t", spreadMs: 1 })).toThrow(RotationInProgressError);
  });

  it("counts hosts on the old CA: records without an issuer, or issued by the old one", () => {
    const r = startRotation({ ...a }, b, { nowMs: T0, by: "t", spreadMs: 5000 });
    const hosts = [{ id: "h3" }, { id: "h1", certCa: fpA }, { id: "h2", certCa: fpB }];
    expect(rotationProgress(r, hosts)).toEqual({ onOld: ["h1", "h3"], onNew: ["h2"] });
    expect(renewWithinMs(r)).toBe(5000);
    // A host still on the old CA: nothing is retired.
    expect(retireIfDone(r, hosts, T0 + 10)).toBeUndefined();
  });

  it("retires the old CA once no host's certificate is signed by it: the new one becomes current, alone", () => {
    const r = startRotation({ ...a }, b, { nowMs: T0, by: "t", spreadMs: 5000 });
    const done = retireIfDone(r, [{ id: "h1", certCa: fpB }, { id: "h2", certCa: fpB }], T0 + 10);
    expect(done).toEqual({ certPem: b.certPem, keyPem: b.keyPem, retired: { certPem: a.certPem, atMs: T0 + 10 } });
    expect(trustedCas(done!)).toEqual([b.certPem]);
    expect(servingCa(done!)).toEqual(b);
    expect(caPhase(done!)).toBe("idle");
    // And a fleet of none retires at once.
    expect(retireIfDone(r, [], T0)).toBeDefined();
    // The next rotation can start from there.
    expect(caPhase(startRotation(done!, a, { nowMs: T0 + 20, by: "t", spreadMs: 1 }))).toBe("rotating");
  });

  it("reads records from before rotation existed, and refuses a malformed one naming the field", () => {
    const old = decodeRecord(CaRecordSchema, JSON.stringify({ certPem: a.certPem, keyPem: a.keyPem }));
    expect(old.ok && caPhase(old.rec)).toBe("idle");
    const bad = decodeRecord(CaRecordSchema, JSON.stringify({ certPem: a.certPem, keyPem: a.keyPem, rotation: { next: { certPem: b.certPem }, startedAtMs: 1, by: "", spreadMs: 1 } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/rotation\.next\.keyPem/);
  });
});
