/**
 * The scheduler: `schedule(snapshot, options?) → Plan`, pure (no I/O, no clock,
 * no randomness; the same snapshot always gives the same plan).
 *
 * Slots: a service with `instances: n` has slots 0..n-1. Each decision below is
 * about one slot; README.md in this folder is the contract for its callers.
 *
 *  1. Stops. Instances of deleted services, of slots ≥ n, and extra records of
 *     a slot are stopped; their hosts are free for the rest of the plan (the
 *     host's whole assignment switches, so the agent stops the old instance
 *     before it starts the new one).
 *  2. Running instances stay (`keep`) while their host still fits them — ready
 *     or not (a down host's instance is failover's business), cordoned or not.
 *     A host no longer fits when the spec's constraints or resources changed,
 *     or the slot lists it in avoidHosts. An instance on a host the snapshot
 *     does not know is kept as well: we cannot judge it.
 *  3. Pins first, in (service, slot) order: a pinned slot not on its pin goes
 *     there if every hard rule allows, else it is `unplaced` with the pin's
 *     problem (and, if running, also kept where it runs). Pins go before
 *     everything else so that no unpinned slot takes a pinned host first.
 *  4. Then every other slot that needs a host, in (service, slot) order:
 *     pending slots are placed, instances whose host no longer fits are moved.
 *     With no host for them, pending slots are `unplaced` with the reason
 *     (explain.ts), misfits stay where they are, silently.
 *  A slot `waiting` out a reschedule backoff is left alone: not placed, not
 *  moved, not reported. Hosts where a slot failed recently rank after all others
 *  for it (scorers/penalty.ts), but still take it when no other can.
 *  Sources of moves stay occupied for the whole plan: a move is health-gated,
 *  the old copy runs until the new one is healthy.
 */
import { STILL_FITS, FILTERS, firstRejection } from "./filters/chain.js";
import { explain, verb } from "./explain.js";
import { Fleet } from "./fleet.js";
import { HostIdSet } from "./host-id-set.js";
import { Occupancy } from "./occupancy.js";
import { serviceRequest, slotRequest, type ServiceRequest, type SlotRequest } from "./request.js";
import { SpreadCounts } from "./scorers/spread.js";
import { IndexedSearch } from "./search/indexed.js";
import { ScanSearch } from "./search/scan.js";
import type { HostSearch } from "./search/search.js";
import { tallyKey, tallyRejections } from "./tally.js";
import type { Placement, Plan, SchedInstance, SchedService, Snapshot } from "./types.js";
import { assertNever } from "./assert-never.js";

export interface SlotRef {
  readonly service: string;
  readonly slot: number;
}

export interface ScheduleOptions {
  /**
   * Decide these slots only. Every other instance is taken as it is: it stays
   * on its host, occupies it, counts for its service's spread, and appears
   * nowhere in the plan. Meant for the reconcile loop's frequent small
   * questions (one lost instance) when the rest of the fleet is settled.
   * @default every slot of every service
   */
  readonly only?: readonly SlotRef[];
  /**
   * How hosts are searched. The plan is the same either way (a property test
   * holds the two to it); only the time differs: "scan" is O(hosts) per slot with
   * nothing to build, "index" builds indexes once and then finds each host in
   * about O(log hosts).
   * @default "auto": scan for up to SCAN_MAX_SLOTS slots to search, indexes beyond
   */
  readonly search?: "auto" | "scan" | "index";
}

/**
 * Up to this many slots to search, scanning the fleet for each costs less than
 * building indexes once. Measured on the bench fleet (10,000 hosts): a scan is
 * ~0.5 ms a slot, building indexes ~5–7 ms; they cross between 8 and 16 slots.
 */
export const SCAN_MAX_SLOTS = 8;

/** Services in an `only` scope looked up by scanning the spec list rather than hashing it. */
const SCANNED_SERVICES = 16;

/** What a running instance that finds no new host becomes. */
type Stuck =
  /** pending: it has no host to stay on */
  | "unplaced"
  /** its host no longer fits: it may stay, and says nothing (failing this is not news) */
  | "keep"
  /** another instance owns its host (bad input: two on one host): it cannot stay */
  | "conflict";

interface Work {
  readonly req: SlotRequest;
  readonly counts: SpreadCounts;
  /** Host it runs on, "" if pending. */
  readonly from: string;
  readonly pin: string;
  readonly stuck: Stuck;
}

interface ServiceState {
  readonly svc: ServiceRequest;
  readonly counts: SpreadCounts;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bySlot(a: { service: string; slot: number }, b: { service: string; slot: number }): number {
  return cmpStr(a.service, b.service) || a.slot - b.slot;
}

export function schedule(snapshot: Snapshot, options: ScheduleOptions = {}): Plan {
  const fleet = new Fleet(snapshot.hosts);
  const plan: Plan = { place: [], stop: [], move: [], keep: [], unplaced: [], stuck: [] };

  let scope: Map<string, Set<number>> | undefined;
  if (options.only !== undefined) {
    scope = new Map();
    for (const ref of options.only) {
      const slots = scope.get(ref.service) ?? new Set<number>();
      slots.add(ref.slot);
      scope.set(ref.service, slots);
    }
  }
  const inScope = (service: string, slot: number): boolean => scope === undefined || (scope.get(service)?.has(slot) ?? false);

  // Every instance with a host occupies it, except those this plan stops. Two
  // on one host is bad input: the first in (service, slot) order owns it, the
  // other must go. The owner is looked up only when a message or a conflict
  // needs it: a plan for one slot should not pay for the whole fleet twice.
  const all = snapshot.instances;
  const running = new HostIdSet(all);
  const contested = new Set<string>();
  const stopped = new Set<SchedInstance>();
  const stay = (k: number): void => {
    const inst = all[k]!;
    if (inst.hostId !== "" && !running.add(k)) contested.add(inst.hostId);
  };
  const stop = (inst: SchedInstance): void => {
    stopped.add(inst);
    plan.stop.push({ service: inst.service, slot: inst.slot, hostId: inst.hostId });
  };
  const ownerOf = (hostId: string): SchedInstance | undefined => {
    let owner: SchedInstance | undefined;
    for (const inst of all) {
      if (inst.hostId === hostId && !stopped.has(inst) && (owner === undefined || bySlot(inst, owner) < 0)) owner = inst;
    }
    return owner;
  };

  // Instances of the services this plan decides about, by service; the others stay as they are.
  const byService = new Map<string, number[]>();
  for (let k = 0; k < all.length; k++) {
    const inst = all[k]!;
    if (scope !== undefined && !scope.has(inst.service)) {
      stay(k);
      continue;
    }
    const list = byService.get(inst.service);
    if (list) list.push(k);
    else byService.set(inst.service, [k]);
  }

  // A name listed twice is bad input; the first spec is the service. A scope of
  // a few services looks them up by scanning (cheaper than hashing them all).
  const services = new Map<string, SchedService>();
  if (scope === undefined || scope.size > SCANNED_SERVICES) {
    for (const s of snapshot.services) if (!services.has(s.name)) services.set(s.name, s);
  } else {
    for (const name of scope.keys()) {
      const s = snapshot.services.find((x) => x.name === name);
      if (s !== undefined) services.set(name, s);
    }
  }
  const names =
    scope !== undefined ? [...scope.keys()].sort(cmpStr) : [...new Set([...services.keys(), ...byService.keys()])].sort(cmpStr);

  // 1. Which records live on (one per slot in 0..n-1) and which stop.
  const live: { state: ServiceState; slot: number; inst: SchedInstance | undefined }[] = [];
  /** Out-of-scope instances of the services in scope: they count for spread. */
  const counted: { state: ServiceState; inst: SchedInstance }[] = [];
  for (const name of names) {
    const spec = services.get(name);
    const insts = (byService.get(name) ?? []).slice().sort((ka, kb) => {
      const a = all[ka]!;
      const b = all[kb]!;
      // Of two records for one slot, the one with a host wins (its instance runs).
      return a.slot - b.slot || Number(a.hostId === "") - Number(b.hostId === "") || cmpStr(a.hostId, b.hostId);
    });
    if (spec === undefined) {
      for (const k of insts) {
        if (inScope(name, all[k]!.slot)) stop(all[k]!);
        else stay(k);
      }
      continue;
    }
    const n = Number.isFinite(spec.instances) ? Math.max(0, Math.floor(spec.instances)) : 0;
    const state: ServiceState = { svc: serviceRequest(spec), counts: new SpreadCounts(spec.spread) };
    const seen = new Set<number>();
    for (const k of insts) {
      const inst = all[k]!;
      const valid = Number.isInteger(inst.slot) && inst.slot >= 0 && inst.slot < n && !seen.has(inst.slot);
      if (valid) seen.add(inst.slot);
      if (!inScope(name, inst.slot)) {
        stay(k);
        if (valid && inst.hostId !== "") counted.push({ state, inst });
      } else if (valid) {
        live.push({ state, slot: inst.slot, inst });
        stay(k);
      } else {
        stop(inst);
      }
    }
    for (let slot = 0; slot < n; slot++) if (!seen.has(slot) && inScope(name, slot)) live.push({ state, slot, inst: undefined });
  }
  const occ = new Occupancy(fleet, running, ownerOf);
  for (const { state, inst } of counted) {
    const i = fleet.indexOf(inst.hostId);
    if (i >= 0) state.counts.add(fleet.host(i));
  }

  // 2. Running instances that still fit stay; the others become work.
  const keep = (req: SlotRequest, counts: SpreadCounts, hostId: string): void => {
    plan.keep.push({ service: req.svc.service.name, slot: req.slot, hostId });
    const i = fleet.indexOf(hostId);
    // An instance on a host the snapshot does not know has no failure domain we can count.
    if (i >= 0) counts.add(fleet.host(i));
  };
  const work: Work[] = [];
  live.sort((a, b) => cmpStr(a.state.svc.service.name, b.state.svc.service.name) || a.slot - b.slot);
  for (const { state, slot, inst } of live) {
    const req = slotRequest(state.svc, slot, inst?.avoidHosts ?? [], inst?.recentFailures);
    const pin = inst?.pinnedHost ?? "";
    const from = inst?.hostId ?? "";
    // Waiting out a reschedule backoff: a pending slot stays pending, a running one
    // where it is (unless it shares its host: that conflict is settled below).
    if (inst?.waiting === true && (from === "" || !contested.has(from))) {
      if (from !== "") keep(req, state.counts, from);
      continue;
    }
    if (from === "") {
      work.push({ req, counts: state.counts, from, pin, stuck: "unplaced" });
      continue;
    }
    const i = fleet.indexOf(from);
    // Ownership is by host id, so two instances on a host the snapshot does not know conflict as well.
    const owned = !contested.has(from) || ownerOf(from) === inst;
    if (pin !== "" && pin !== from) work.push({ req, counts: state.counts, from, pin, stuck: owned ? "keep" : "conflict" });
    else if (!owned) work.push({ req, counts: state.counts, from, pin: "", stuck: "conflict" });
    // On its pin, an instance stays whatever the spec says: the operator put it there.
    else if (i < 0 || pin === from) keep(req, state.counts, from);
    else if (firstRejection(STILL_FITS, fleet.host(i), i, req, occ) !== undefined) work.push({ req, counts: state.counts, from, pin: "", stuck: "keep" });
    else keep(req, state.counts, from);
  }

  const give = (w: Work, i: number): void => {
    const host = fleet.host(i);
    occ.take(i, { service: w.req.svc.service.name, slot: w.req.slot });
    w.counts.add(host);
    const p: Placement = { service: w.req.svc.service.name, slot: w.req.slot, hostId: host.id };
    if (w.from === "") plan.place.push(p);
    else plan.move.push({ ...p, fromHost: w.from });
  };
  const unplaced = (w: Work, reason: string): void => {
    plan.unplaced.push({ service: w.req.svc.service.name, slot: w.req.slot, reason });
  };

  // 3. Pins.
  for (const w of work) {
    if (w.pin === "") continue;
    const i = fleet.indexOf(w.pin);
    const why = i < 0 ? "is unknown" : pinProblem(fleet, occ, w.req, i);
    if (why === undefined) {
      give(w, i);
      continue;
    }
    unplaced(w, `pinned host ${w.pin} ${why}`);
    switch (w.stuck) {
      case "keep":
        keep(w.req, w.counts, w.from);
        break;
      case "unplaced":
      case "conflict":
        break;
      default:
        assertNever(w.stuck);
    }
  }

  // 4. Everything else that needs a host.
  const rest = work.filter((w) => w.pin === "");
  const mode = options.search ?? "auto";
  const search: HostSearch =
    mode === "scan" || (mode === "auto" && rest.length <= SCAN_MAX_SLOTS) ? new ScanSearch(fleet, occ) : new IndexedSearch(fleet, occ);
  const toExplain: Work[] = [];
  const kept: Work[] = [];
  for (const w of rest) {
    const i = search.best(w.req, w.counts);
    if (i >= 0) {
      give(w, i);
      continue;
    }
    switch (w.stuck) {
      case "keep":
        keep(w.req, w.counts, w.from);
        kept.push(w);
        break;
      case "unplaced":
      case "conflict":
        toExplain.push(w);
        break;
      default:
        assertNever(w.stuck);
    }
  }

  // Reasons are tallied against the plan's final occupancy: hosts only get taken
  // during a plan, so a slot that found none then finds none at the end either.
  const reasons = new Map<string, string>();
  const reasonFor = (w: Work): string => {
    const key = tallyKey(w.req);
    let reason = reasons.get(key);
    if (reason === undefined) {
      reason = explain(tallyRejections(fleet, w.req, occ));
      reasons.set(key, reason);
    }
    return reason;
  };
  for (const w of toExplain) {
    const reason = reasonFor(w);
    const owner = w.stuck === "conflict" ? ownerOf(w.from) : undefined;
    unplaced(w, owner !== undefined ? `${w.from} also runs ${owner.service}-${owner.slot}; ${reason}` : reason);
  }
  // Staying is not news to the plan, but it is to whoever drains that host and waits.
  for (const w of kept) plan.stuck.push({ service: w.req.svc.service.name, slot: w.req.slot, hostId: w.from, reason: reasonFor(w) });

  plan.place.sort(bySlot);
  plan.move.sort(bySlot);
  plan.keep.sort(bySlot);
  plan.unplaced.sort(bySlot);
  plan.stuck.sort(bySlot);
  plan.stop.sort((a, b) => bySlot(a, b) || cmpStr(a.hostId, b.hostId));
  return plan;
}

/** Why the pinned host i cannot take the slot, as "<verb phrase>", or undefined if it can. */
function pinProblem(fleet: Fleet, occ: Occupancy, req: SlotRequest, i: number): string | undefined {
  const r = firstRejection(FILTERS, fleet.host(i), i, req, occ);
  if (r === undefined) return undefined;
  if (r.kind === "occupied") return `runs ${occ.occupant(i) ?? "another instance"}`;
  return verb(r, false);
}
