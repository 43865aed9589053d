import { beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { pickInstance, resolveHostRef } from "../../../controller/member/api/exec-target.js";
import { HostNotFoundError, HostRegistry } from "../../../controller/hosts/registry.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import type { InstanceRecord } from "../../../controller/services/records.js";
import { GrpcError } from "../../../controller/member/api/errors.js";
import { tempStores } from "../fixtures/store.js";

function host(id: string, hostname: string): HostRecord {
  return { id, labels: {}, advertiseAddr: "10.0.0.1", facts: { hostname } as HostRecord["facts"], health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" };
}

/** The real registry over a real LevelDB store: the lookup under test is its own. */
const stores = tempStores("all");
async function registry(hosts: HostRecord[]): Promise<HostRegistry> {
  const { store, events } = await stores.open({ clock: () => 0 });
  const reg = new HostRegistry(store, events);
  for (const h of hosts) expect(await reg.create(h, { compares: [], ops: [] }, { type: "host.joined", host: h.id, message: "joined" })).toBe(true);
  return reg;
}

function inst(slot: number, hostId: string): InstanceRecord {
  return { service: "web", slot, hostId, epoch: 1, revision: 1, pinnedHost: "", moveTo: null };
}

const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof GrpcError ? e.code : e instanceof HostNotFoundError ? grpc.status.NOT_FOUND : -1;
  }
  return undefined;
};

describe("exec targets", () => {
  const hosts = [host("3fa9c2e1b7d4", "web-1"), host("3fb000000000", "web-2"), host("77aa00000000", "db"), host("88bb00000000", "db")];
  let reg: HostRegistry;
  beforeAll(async () => {
    reg = await registry(hosts);
  });

  it("takes a host id, a unique prefix, or a unique hostname", () => {
    expect(resolveHostRef(reg, "3fa9c2e1b7d4").id).toBe("3fa9c2e1b7d4");
    expect(resolveHostRef(reg, "3fa9").id).toBe("3fa9c2e1b7d4");
    expect(resolveHostRef(reg, "web-2").id).toBe("3fb000000000");
  });

  it("says which host it could not find, and when a hostname names several", () => {
    expect(() => resolveHostRef(reg, "nope")).toThrow(/no host "nope"/);
    expect(() => resolveHostRef(reg, "db")).toThrow(/hostname "db" names 2 hosts \(77aa00000000, 88bb00000000\): give a host id/);
    expect(() => resolveHostRef(reg, "3f")).toThrow(/too short to name a host for exec/);
    expect(() => resolveHostRef(reg, "3fa")).toThrow(/too short to name a host for exec/);
  });

  it("the registry: a one-character prefix asks for more, two that match several say so, none says no host", () => {
    expect(reg.resolve("3fa9").id).toBe("3fa9c2e1b7d4");
    expect(() => reg.resolve("7")).toThrow('"7" is too short to name a host: give at least 2 characters of its id');
    expect(() => reg.resolve("3f")).toThrow('"3f" matches more than one host (3fa9c2e1b7d4, 3fb000000000): give more of the id');
    expect(() => reg.resolve("9")).toThrow('no host "9"');
  });

  it("a hostname goes before an id prefix: ids are hex, and so are many names", async () => {
    const r = await registry([host("db1e00000000", "web-9"), host("5a5a00000000", "db1")]);
    expect(resolveHostRef(r, "db1").id).toBe("5a5a00000000");
    expect(resolveHostRef(r, "db1e").id).toBe("db1e00000000");
  });

  it("picks the first placed instance, or the one asked for by slot or id", () => {
    const insts = [inst(2, "h3"), inst(0, ""), inst(1, "h2")];
    expect(pickInstance("web", insts, "").slot).toBe(1);
    expect(pickInstance("web", insts, "2").hostId).toBe("h3");
    expect(pickInstance("web", insts, "web-2").hostId).toBe("h3");
    expect(codeOf(() => pickInstance("web", insts, "web-0"))).toBe(grpc.status.FAILED_PRECONDITION);
    expect(codeOf(() => pickInstance("web", insts, "7"))).toBe(grpc.status.NOT_FOUND);
    expect(() => pickInstance("web", insts, "api-1")).toThrow(/no instance "api-1" of web \(it has web-0, web-1, web-2\)/);
    expect(codeOf(() => pickInstance("web", [inst(0, "")], ""))).toBe(grpc.status.FAILED_PRECONDITION);
  });
});
