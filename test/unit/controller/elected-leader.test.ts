/**
 * ElectedLeader (controller/leader/leadership.ts): a term starts on each election won,
 * stops when leadership is lost or a guarded write is refused, and close() stops the
 * term before it resigns. A fake election stands in for etcd.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ElectedLeader, type Campaigner, type HeldLeadership, type TermContext } from "../../../controller/leader/leadership.js";
import { NotLeaderError } from "../../../controller/store/election.js";
import type { Store, TxnResult } from "../../../controller/store/store.js";
import { createLogger } from "../../../shared/log/logger.js";
import { until } from "../until.js";

const log = createLogger("test", "silent");

/** A store whose writes succeed until `refuse` is set, then throw NotLeaderError. */
function fakeStore(): Store & { refuse: boolean; writes: number } {
  const s = {
    refuse: false,
    writes: 0,
    get: () => Promise.resolve(undefined),
    put: () => Promise.resolve(1),
    delete: () => Promise.resolve(1),
    txn: (): Promise<TxnResult> => {
      if (s.refuse) return Promise.reject(new NotLeaderError("m1", "etcd refused the write: the leader key berth/election/1 is gone"));
      s.writes++;
      return Promise.resolve({ succeeded: true, revision: 1, failed: [] });
    },
    scan: () => Promise.resolve([]),
    watch: () => Promise.resolve({ close: () => undefined }),
    revision: () => Promise.resolve(1),
    close: () => Promise.resolve(),
  };
  return s;
}

class FakeElection implements Campaigner {
  readonly log: string[] = [];
  private win: ((h: HeldLeadership) => void) | undefined;
  private fail: ((err: Error) => void) | undefined;
  lose: ((why: string) => void) | undefined;
  readonly store = fakeStore();
  /** What the held leadership's own clock says of the lease. */
  leaseHeld = true;
  campaigns = 0;

  campaign(): Promise<HeldLeadership> {
    this.campaigns++;
    this.log.push("campaign");
    return new Promise((resolve, reject) => {
      this.win = resolve;
      this.fail = reject;
    });
  }

  /** This member wins the campaign running now. */
  elect(): void {
    const lost = new Promise<string>((r) => (this.lose = r));
    this.win?.({ key: "berth/election/1", lost, store: this.store, resign: () => (this.log.push("resign"), this.lose?.("resigned"), Promise.resolve()), isLeader: () => this.leaseHeld });
  }

  unreachable(): void {
    this.fail?.(new Error("etcd unreachable"));
  }

  close(): Promise<void> {
    this.log.push("close");
    this.fail?.(new Error("closed"));
    return Promise.resolve();
  }
}

function terms(): { lead: (ctx: TermContext) => { stop(): Promise<void> }; started: TermContext[]; stopped: number; order: string[] } {
  const t = {
    started: [] as TermContext[],
    stopped: 0,
    order: [] as string[],
    lead: (ctx: TermContext) => {
      t.started.push(ctx);
      t.order.push("start");
      return {
        stop: () => {
          t.stopped++;
          t.order.push("stop");
          return Promise.resolve();
        },
      };
    },
  };
  return t;
}

const running: ElectedLeader[] = [];
afterEach(async () => {
  // Closed also when the test failed: no campaign loop left behind.
  for (const l of running.splice(0)) await l.close();
});

/** A member on a fake election, campaigning (not elected yet); closed after the test. */
async function campaigning(o: { now?: () => number; lead?: (t: ReturnType<typeof terms>) => (ctx: TermContext) => { stop(): Promise<void> } } = {}): Promise<{ e: FakeElection; l: ElectedLeader; t: ReturnType<typeof terms> }> {
  const e = new FakeElection();
  const l = new ElectedLeader({ election: e, log, now: o.now ?? (() => 0), retryMs: 1 });
  running.push(l);
  const t = terms();
  await l.run(o.lead ? o.lead(t) : t.lead);
  return { e, l, t };
}

/** The same, elected: its first term started. */
async function elected(o: Parameters<typeof campaigning>[0] = {}): Promise<Awaited<ReturnType<typeof campaigning>>> {
  const m = await campaigning(o);
  m.e.elect();
  await until(() => m.l.isLeader(), "the term to start");
  return m;
}

describe("ElectedLeader", () => {
  it("starts a term only on winning, with the guarded store for its writes", async () => {
    const { e, l, t } = await campaigning({ now: () => 1000 });
    expect(l.isLeader()).toBe(false);
    expect(t.started).toHaveLength(0);
    e.elect();
    await until(() => l.isLeader(), "the term to start");
    expect(t.started).toHaveLength(1);
    expect(t.started[0]!.writes).toBeDefined();
    expect(l.leadingSinceMs()).toBe(1000);
  });

  it("hands the term the lease's own clock: a freeze past the lease shows before the election's timer ends the term", async () => {
    const { e, l, t } = await elected();
    expect(t.started[0]!.leading?.()).toBe(true);
    e.leaseHeld = false;
    // The term still runs (nothing has told it yet), but its decisions can ask.
    expect(l.isLeader()).toBe(true);
    expect(t.started[0]!.leading?.()).toBe(false);
  });

  it("stops the term when leadership is lost, and campaigns again", async () => {
    const { e, l, t } = await elected();
    e.lose?.("no keep-alive answered within the lease TTL");
    await until(() => t.stopped === 1, "the term to stop");
    expect(l.isLeader()).toBe(false);
    await until(() => e.campaigns === 2, "a new campaign");
    e.elect();
    await until(() => t.started.length === 2, "a second term");
  });

  it("a refused guarded write ends the term at once (NotLeaderError, naming the leader key)", async () => {
    const { e, t } = await elected();
    e.store.refuse = true;
    const writes = t.started[0]!.writes!;
    await expect(writes.txn([], [{ type: "put", key: "k", value: "v" }])).rejects.toThrow(/berth\/election\/1/);
    await until(() => t.stopped === 1, "the term to stop");
    expect(e.log).toContain("resign");
  });

  it("keeps campaigning while etcd cannot be reached", async () => {
    const { e, l } = await campaigning();
    e.unreachable();
    await until(() => e.campaigns === 2, "a second campaign");
    e.elect();
    await until(() => l.isLeader(), "the term to start");
  });

  it("close() stops the term before it gives leadership up, and starts none after", async () => {
    const order: string[] = [];
    const { e, l, t } = await elected({
      lead: (t) => (ctx) => {
        const term = t.lead(ctx);
        return { stop: () => (order.push("term stopped"), term.stop()) };
      },
    });
    const closeAt = e.log.length;
    await l.close();
    order.push(...e.log.slice(closeAt));
    expect(order[0]).toBe("term stopped");
    expect(order).toContain("close");
    expect(l.isLeader()).toBe(false);
    expect(t.started).toHaveLength(1);
    expect(t.stopped).toBe(1);
  });
});
