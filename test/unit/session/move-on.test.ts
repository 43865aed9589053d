/**
 * The agent's session against a controller group of fake members (real gRPC,
 * mutual TLS from one CA, on loopback): a member that says MoveOn is left for
 * another member, never redialled first; the preferred member is honoured when
 * it is one of the agent's; the identity is the same on every member.
 */
import { describe, expect, it } from "vitest";
import { until } from "../until.js";
import { monoMs } from "../../../shared/clock.js";
import { fakeControllers, HOST_ID, welcome, type Script } from "./fixtures/fake-controllers.js";

const fake = fakeControllers();
/** A member that runs `script` on each Hello and logs its address in `dials` on each connect. */
const member = (script: Script, dials: string[]) => fake.serve({ script, dials });
/** Joined long ago, with the first member: the identity holds the first member only. */
const session = (members: { addr: string }[], o: { initialContactMs?: number } = {}) =>
  fake.session(
    members.map((m) => m.addr),
    // Fisher–Yates with draws just below 1 keeps the given order: a, b, c.
    { random: () => 0.999999, ...(o.initialContactMs !== undefined ? { initialContactMs: o.initialContactMs } : {}) },
  );

describe("agent session in a controller group", () => {
  it("leaves a member that says MoveOn for the next member, not the same one first, as the same host", async () => {
    const dials: string[] = [];
    const a = await member((w) => {
      w(welcome);
      w({ move_on: { reason: "this member lost etcd" } });
    }, dials);
    const b = await member((w) => w(welcome), dials);
    const c = await member((w) => w(welcome), dials);
    const { s, connected } = await session([a, b, c]);
    await until(() => connected.length === 2, "the agent on a second member");
    expect(connected).toEqual([a.addr, b.addr]);
    expect(s.member).toBe(b.addr);
    expect(dials).toEqual([a.addr, b.addr]);
    // The same identity on both members.
    expect(a.connects).toEqual([HOST_ID]);
    expect(b.connects).toEqual([HOST_ID]);
    expect(c.connects).toEqual([]);
  }, 30_000);

  it("goes to the preferred member when it is one of its own", async () => {
    const dials: string[] = [];
    const b = await member((w) => w(welcome), dials);
    const c = await member((w) => w(welcome), dials);
    const a = await member((w) => {
      w(welcome);
      w({ move_on: { reason: "go to c", preferred: c.addr } });
    }, dials);
    const { connected } = await session([a, b, c]);
    await until(() => connected.length === 2, "the agent on the preferred member");
    expect(connected).toEqual([a.addr, c.addr]);
    expect(b.connects).toEqual([]);
  }, 30_000);

  it("a MoveOn before Welcome moves the agent too; members that all send it away are dialled in turn, with backoff", async () => {
    const dials: string[] = [];
    const away: Script = (w) => w({ move_on: { reason: "not serving" } });
    const a = await member(away, dials);
    const b = await member(away, dials);
    const { s } = await session([a, b]);
    await until(() => dials.length >= 5, "several moves");
    // a, b, a, b …: never the same member twice in a row.
    for (let i = 1; i < dials.length; i++) expect(dials[i]).not.toBe(dials[i - 1]);
    expect(s.connected).toBe(false);
  }, 30_000);

  it("a lost member is followed by the next one: killing the member the agent is on moves it", async () => {
    const dials: string[] = [];
    const a = await member((w) => w(welcome), dials);
    const b = await member((w) => w(welcome), dials);
    const { connected } = await session([a, b]);
    await until(() => connected.length === 1, "the agent on a");
    a.server.forceShutdown();
    await until(() => connected.length === 2, "the agent on b");
    expect(connected).toEqual([a.addr, b.addr]);
  }, 30_000);

  // Self-fencing (failover.stopAfterDisconnect) counts from the last word of the controller.
  // A member cut off from etcd that sends the agent away is no such word: a member that has
  // etcd may lead and replace what this host runs. Sent away by every member of its list
  // for the store's loss, no member can decide: that is word enough.
  const storeLost: Script = (w) => w({ move_on: { reason: "this member cannot reach the store", store_unavailable: true } });

  it("a MoveOn for the store's loss from one member, another unreachable, is no word from the controller", async () => {
    const dials: string[] = [];
    const a = await member(storeLost, dials);
    const b = await member((w) => w(welcome), dials);
    b.server.forceShutdown();
    const { s } = await session([a, b], { initialContactMs: 1 });
    await until(() => dials.length >= 3, "several dials of a");
    expect(s.lastContactMs()).toBe(1);
  }, 30_000);

  it("sent away for the store's loss by every member of its list, the agent counts that as word, from the oldest answer of the round", async () => {
    const dials: string[] = [];
    const a = await member(storeLost, dials);
    const b = await member(storeLost, dials);
    const started = monoMs();
    const { s } = await session([a, b], { initialContactMs: 1 });
    await until(() => dials.length >= 2 && s.lastContactMs() > 1, "the round to count as contact");
    expect(s.lastContactMs()).toBeGreaterThanOrEqual(started);
    expect(s.lastContactMs()).toBeLessThanOrEqual(monoMs());
  }, 30_000);

  it("a MoveOn for another reason from every member is no word from the controller", async () => {
    const dials: string[] = [];
    const away: Script = (w) => w({ move_on: { reason: "not serving" } });
    const a = await member(away, dials);
    const b = await member(away, dials);
    const { s } = await session([a, b], { initialContactMs: 1 });
    await until(() => dials.length >= 4, "two rounds");
    expect(s.lastContactMs()).toBe(1);
  }, 30_000);
});
