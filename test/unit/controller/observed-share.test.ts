// A member shares what the hosts it holds report (observed/<host> in the store); the leader
// decides from it. A write that fails is tried again by itself: a copy that fenced itself
// reports nothing more, so its "stopped" would otherwise never reach the leader, which gives
// such a copy back only once it has read that stop.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { OBSERVED_PREFIX, ObservedShare } from "../../../controller/member/observed-share.js";
import type { ObservedInstance } from "../../../controller/services/records.js";
import type { Store } from "../../../controller/store/store.js";
import { decodeRecord } from "../../../controller/store/record.js";
import { ObservedInstanceSchema } from "../../../controller/member/observed-share.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const log = pino({ level: "silent" });
const fenced: ObservedInstance = { hostId: "h1", service: "web", instance: "web-0", epoch: 2, revision: 1, state: "stopped", detail: "self-fenced: no word from the controller for 3.1s (stopAfterDisconnect 3s)", restarts: 0, sinceMs: 5, pid: 0, resourcesEnforced: false, resourcesNote: "", installTail: "" };

describe("sharing what a host reports", () => {
  const stores = tempStores();
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it("writes a report again by itself when its write failed, while this member holds the host", async () => {
    const { store } = await stores.open();
    let failures = 1;
    let puts = 0;
    // The store refuses the first write (an etcd hiccup), then takes them.
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== "put") return Reflect.get(target, prop, receiver) as unknown;
        return async (key: string, value: string) => {
          puts++;
          if (failures-- > 0) throw new Error("etcd: request timed out");
          return target.put(key, value);
        };
      },
    }) as Store;
    const observed = new Map<string, ObservedInstance>([["h1", fenced]]);
    let holds = true;
    let asked = 0;
    const share = new ObservedShare({ store: flaky, observed, holds: () => (asked++, holds), onChange: () => undefined, log, retryMs: 20 });
    closers.push(() => share.close());
    const stored = async (): Promise<ObservedInstance | undefined> => {
      const kv = await store.get(`${OBSERVED_PREFIX}h1`);
      const d = kv ? decodeRecord(ObservedInstanceSchema, kv.value) : undefined;
      return d?.ok ? d.rec : undefined;
    };
    share.publish(fenced);
    // No second report comes: the retry alone writes it.
    await until(() => puts === 2, "the write to be tried again");
    await share.close(); // its writes settled
    expect((await stored())?.detail).toBe(fenced.detail);

    // A host this member no longer holds (its stream moved on) is left to the member that does.
    const again = new ObservedShare({ store: flaky, observed, holds: () => (asked++, holds), onChange: () => undefined, log, retryMs: 20 });
    closers.push(() => again.close());
    failures = 1;
    observed.set("h1", { ...fenced, sinceMs: 6 });
    again.publish({ ...fenced, sinceMs: 6 });
    await until(() => puts === 3, "the failed write");
    holds = false;
    const before = asked;
    await until(() => asked > before, "the retry to look at the host");
    await again.close();
    expect(puts).toBe(3);
    expect((await stored())?.sinceMs).toBe(5);
  });
});
