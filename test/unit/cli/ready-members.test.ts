// Happy Eyeballs over a controller group (cli/client.ts readyMembers): a member whose
// connection hangs (a frozen process accepts TCP, never finishes TLS) must not hold every
// command for the whole connect timeout while another member would answer.
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { readyMembers, type Api } from "../../../cli/client.js";

type Up = true | grpc.ServiceError;
const refused = (): grpc.ServiceError => Object.assign(new Error("refused"), { code: grpc.status.UNAVAILABLE, details: "connect ECONNREFUSED", metadata: new grpc.Metadata() });

/** Probes whose outcome the test decides, recording the order they were started in. */
function probes() {
  const started: string[] = [];
  const settle = new Map<string, (up: Up) => void>();
  const waiting = new Map<string, () => void>();
  const probe = (_api: Api, member: string): Promise<Up> => {
    started.push(member);
    waiting.get(member)?.();
    return new Promise<Up>((resolve) => settle.set(member, resolve));
  };
  /** Resolves when `member`'s connection is started (at once if it was). */
  const whenStarted = (member: string): Promise<void> => (started.includes(member) ? Promise.resolve() : new Promise<void>((r) => waiting.set(member, r)));
  return { started, whenStarted, settle: (m: string, up: Up) => settle.get(m)?.(up), probe };
}

const api = {} as Api;

describe("readyMembers", () => {
  it("starts the next member's connection beside a hanging one, and yields whichever comes up first", async () => {
    const p = probes();
    const it = readyMembers(api, ["a", "b", "c"], 5000, { staggerMs: 10, probe: p.probe });
    const first = it.next();
    // a hangs; after the stagger b is dialled too, and comes up.
    await p.whenStarted("b");
    p.settle("b", true);
    expect((await first).value).toEqual({ member: "b", up: true });
    expect(p.started).toEqual(["a", "b"]);
    await it.return(undefined);
    p.settle("a", true);
  });

  it("moves on at once from a member that fails, and yields every outcome when none comes up", async () => {
    const p = probes();
    const seen: string[] = [];
    const done = (async () => {
      for await (const { member, up } of readyMembers(api, ["a", "b"], 5000, { staggerMs: 60_000, probe: p.probe })) seen.push(`${member}:${up === true ? "up" : "down"}`);
    })();
    await p.whenStarted("a");
    p.settle("a", refused());
    // No stagger waited (it is a minute here): a's failure starts b.
    await p.whenStarted("b");
    p.settle("b", refused());
    await done;
    expect(seen).toEqual(["a:down", "b:down"]);
  });

  it("with one member (a lone controller), is that member's outcome", async () => {
    const p = probes();
    const it = readyMembers(api, ["only"], 5000, { staggerMs: 1, probe: p.probe });
    const first = it.next();
    expect(p.started).toEqual(["only"]);
    p.settle("only", true);
    expect((await first).value).toEqual({ member: "only", up: true });
    expect((await it.next()).done).toBe(true);
  });
});
