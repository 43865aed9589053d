/**
 * `berth host remove` takes what the fleet keeps of the host with its record, in
 * the same txn: its shared observed state (`observed/<host>`) goes too, so no
 * member keeps showing or deciding from a host that is gone.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startTestController, unaryP, whenHostKnown, type TestController } from "./controller.js";
import { hostKey, type HostRecord } from "../../../controller/hosts/host.js";
import { encodeRecord } from "../../../controller/store/record.js";
import { OBSERVED_PREFIX } from "../../../controller/member/observed-share.js";
import type { ObservedInstance } from "../../../controller/services/records.js";
import { REVOKED_PREFIX } from "../../../controller/pki/revoked.js";

const ID = "0123456789abcdef0123456789abcdef";
const host: HostRecord = { id: ID, labels: {}, advertiseAddr: "10.0.0.9", facts: null, health: "ready", healthSinceMs: 1, cordoned: false, joinedAtMs: 1, certSerial: "AB12" };
const observed: ObservedInstance = { hostId: ID, service: "web", instance: "web-0", epoch: 1, revision: 1, state: "healthy", detail: "", restarts: 0, sinceMs: 1, pid: 42, resourcesEnforced: false, resourcesNote: "", installTail: "" };

describe("berth host remove", () => {
  let c: TestController | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it("deletes the host's observed/ record in the txn that deletes the host", async () => {
    c = await startTestController({ member: "m1" });
    const { store } = c.handle;
    await store.txn([], [
      { type: "put", key: hostKey(ID), value: encodeRecord(host) },
      { type: "put", key: `${OBSERVED_PREFIX}${ID}`, value: encodeRecord(observed) },
    ]);
    const admin = c.client(c.tokens.admin);
    // The registry follows the store: the host is removable once it has seen it.
    await whenHostKnown(() => unaryP(admin, "RemoveHost", { id: ID }));
    expect(await store.get(hostKey(ID))).toBeUndefined();
    expect(await store.get(`${REVOKED_PREFIX}AB12`)).toBeDefined();
    expect(await store.get(`${OBSERVED_PREFIX}${ID}`)).toBeUndefined();
  });
});
