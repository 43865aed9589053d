// A stop waits for the process group to empty. Polling /proc alone notices an exit
// only at the next poll (up to POLL_MS late, on every step of a rollout): the
// leader's exit event wakes the wait at once.
import { describe, expect, it } from "vitest";
import { pollUntil } from "../../../agent/supervisor/process-group.js";

describe("pollUntil", () => {
  it("looks again the moment `wake` settles, not at the next poll", async () => {
    let exited = false;
    let looks = 0;
    // The exit event, as the supervisor's child "exit" gives it.
    const wake = new Promise<void>((resolve) =>
      setTimeout(() => {
        exited = true;
        resolve();
      }, 100),
    );
    const gone = await pollUntil(
      () => {
        looks++;
        return exited;
      },
      10_000,
      // A poll far off: only the wake can explain a second look within the test.
      { wake, pollMs: 60_000 },
    );
    expect(gone).toBe(true);
    // Once before the wait, once on the wake: no look in between was needed.
    expect(looks).toBe(2);
  });

  it("keeps polling after a wake that left members behind (a child of the leader still running)", async () => {
    let looks = 0;
    const gone = await pollUntil(() => ++looks >= 4, 10_000, { wake: Promise.resolve(), pollMs: 1 });
    expect(gone).toBe(true);
    expect(looks).toBe(4);
  });

  it("still gives up after timeoutMs", async () => {
    await expect(pollUntil(() => false, 60, { wake: new Promise<void>(() => undefined) })).resolves.toBe(false);
  });
});
