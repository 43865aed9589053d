/**
 * `berth events --host X` takes a host the way every host command does (its id or a
 * prefix of it), says so when X names no host rather than answering with no events,
 * and still finds a removed host's events by its whole id.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { startTestController, unaryP, whenHostKnown, type TestController } from "./controller.js";
import { hostKey, type HostRecord } from "../../../controller/hosts/host.js";
import { encodeRecord } from "../../../controller/store/record.js";
import type { Event__Output } from "../../../shared/gen/berth/v1/Event.js";

const ID = "0123456789abcdef0123456789abcdef";
const host: HostRecord = { id: ID, labels: {}, advertiseAddr: "10.0.0.9", facts: null, health: "ready", healthSinceMs: 1, cordoned: false, joinedAtMs: 1, certSerial: "AB12" };

describe("events of one host", () => {
  let c: TestController | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it("resolves a prefix, refuses an unknown host with NOT_FOUND, and keeps a removed host's events under its whole id", async () => {
    c = await startTestController({ member: "m1" });
    await c.handle.store.txn([], [{ type: "put", key: hostKey(ID), value: encodeRecord(host) }]);
    const admin = c.client(c.tokens.admin);
    // The registry follows the store: the host can be cordoned once it has seen it.
    await whenHostKnown(() => unaryP(admin, "Cordon", { id: ID }));
    const list = (h: string) => unaryP<object, { events: Event__Output[] }>(admin, "ListEvents", { limit: 100, host: h });
    const byPrefix = await list("0123");
    expect(byPrefix.events.map((e) => e.type)).toContain("host.cordoned");
    expect(byPrefix.events.every((e) => e.host === ID)).toBe(true);

    await expect(list("nope")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringContaining('no host "nope"') });

    await unaryP(admin, "RemoveHost", { id: ID });
    const afterRemoval = await list(ID);
    expect(afterRemoval.events.map((e) => e.type)).toContain("host.cordoned");
    await expect(list("0123")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});
