/** The stored-record codec: versions written and read, bad records named, never thrown. */
import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, SCHEMA_VERSION } from "../../../controller/store/record.js";
import { InstanceRecordSchema, ServiceRecordSchema, type InstanceRecord, type ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec, toSpecInput, validateSpec } from "../../../shared/spec/schema.js";
import { checkWireSpec } from "../../../shared/spec/wire.js";

const inst: InstanceRecord = { service: "web", slot: 0, hostId: "h1", epoch: 3, revision: 2, pinnedHost: "", moveTo: null };
const svc: ServiceRecord = { name: "web", spec: normalizeSpec({ name: "web", run: { command: "x" }, instances: 2 }), revision: 1, createdAtMs: 1, updatedAtMs: 2 };

describe("stored records", () => {
  it("writes the schema version and reads back the record without it", () => {
    const text = encodeRecord(inst);
    expect(JSON.parse(text)).toMatchObject({ schemaVersion: SCHEMA_VERSION });
    expect(decodeRecord(InstanceRecordSchema, text)).toEqual({ ok: true, rec: inst });
  });

  it("reads a record without a version as version 1, today's shape", () => {
    expect(decodeRecord(ServiceRecordSchema, JSON.stringify(svc))).toEqual({ ok: true, rec: svc });
  });

  it("refuses, with a reason, what it cannot read: garbage, a newer version, a wrong shape, an absurd value", () => {
    const reason = (schema: typeof InstanceRecordSchema | typeof ServiceRecordSchema, v: string): string => {
      const d = decodeRecord<unknown>(schema, v);
      return d.ok ? "(accepted)" : d.reason;
    };
    expect(reason(InstanceRecordSchema, "{ nope")).toMatch(/^not JSON/);
    expect(reason(InstanceRecordSchema, "[1,2]")).toBe("not a JSON object");
    expect(reason(InstanceRecordSchema, JSON.stringify({ ...inst, schemaVersion: 2 }))).toMatch(/schemaVersion 2 is newer than this controller reads \(up to 1\)/);
    expect(reason(InstanceRecordSchema, JSON.stringify({ ...inst, schemaVersion: "1" }))).toMatch(/schemaVersion: expected a whole number/);
    expect(reason(InstanceRecordSchema, JSON.stringify({ ...inst, epoch: -1, failures: "h2" }))).toMatch(/epoch: .*; failures: /);
    const absurd = { ...svc, spec: { ...svc.spec, update: { ...svc.spec.update, maxSurge: 1e9 } } };
    expect(reason(ServiceRecordSchema, JSON.stringify(absurd))).toMatch(/spec\.update\.maxSurge: .*10000/);
    const noDuration = { ...svc, spec: { ...svc.spec, update: { ...svc.spec.update, drainTimeMs: Number.MAX_SAFE_INTEGER } } };
    expect(reason(ServiceRecordSchema, JSON.stringify(noDuration))).toMatch(/drainTimeMs/);
    // A spec of the right shape that breaks a rule a user's spec must pass.
    const rule = { ...svc, spec: { ...svc.spec, update: { ...svc.spec.update, maxUnavailable: 0, maxSurge: 0 } } };
    expect(reason(ServiceRecordSchema, JSON.stringify(rule))).toMatch(/update\.maxUnavailable: maxUnavailable \+ maxSurge must be at least 1/);
  });

  it("reads a stored spec that breaks a rule about meaning added since (not a bound), as the wire does", () => {
    // progressDeadline ≤ healthyDeadline + drainTime: refused at apply, but a service stored by an
    // older berth must stay readable (not quarantined) and its copies run on an agent.
    const older = { ...svc, spec: { ...svc.spec, update: { ...svc.spec.update, healthyDeadlineMs: 10_000, drainTimeMs: 15_000, progressDeadlineMs: 20_000 } } };
    expect(decodeRecord(ServiceRecordSchema, JSON.stringify(older))).toEqual({ ok: true, rec: older });
    expect(checkWireSpec(JSON.parse(JSON.stringify(older.spec)))).toEqual(older.spec);
    expect(validateSpec(toSpecInput(older.spec)).issues.map((i) => i.message)).toEqual([expect.stringMatching(/^progressDeadline \(20s\) must be longer than healthyDeadline \(10s\) \+ drainTime \(15s\)/)]);
  });

  it("keeps the stored key order (a host hashes the spec it runs)", () => {
    const { failover, update, ...rest } = svc.spec;
    const { drainTimeMs, ...u } = update;
    const shuffled = { updatedAtMs: 2, spec: { failover, update: { drainTimeMs, ...u }, ...rest }, name: "web", revision: 1, createdAtMs: 1 };
    expect(JSON.stringify(shuffled.spec)).not.toBe(JSON.stringify(svc.spec));
    const d = decodeRecord(ServiceRecordSchema, JSON.stringify(shuffled));
    expect(d.ok && JSON.stringify(d.rec)).toBe(JSON.stringify(shuffled));
  });

  it("drops a field it does not know rather than carrying it along", () => {
    const d = decodeRecord(InstanceRecordSchema, JSON.stringify({ ...inst, whatever: 1 }));
    expect(d).toEqual({ ok: true, rec: inst });
  });
});
