/**
 * The tie-break: a stable hash of (service, slot, hostId), as a position on a
 * ring (consistent hashing).
 *
 * Each host sits at `hostPoint(hostId)`, each slot at `slotPoint(service, slot)`;
 * among hosts that score the same, the slot takes the first one clockwise from
 * its point, i.e. the one with the smallest `ringDistance`.
 *
 * Why a ring and not rendezvous hashing (max of hash(slot, host)): both are
 * stable (removing a host that was not chosen never changes a choice, adding
 * one changes only the slots it lands in front of), but rendezvous must hash
 * every tied host for every slot, and in a fleet of identical machines every
 * host ties. On a ring the winner among hosts sorted by point is one binary
 * search away (search/indexed.ts), so placing 10,000 slots on 10,000 identical
 * hosts stays near-linear.
 */

/** FNV-1a over UTF-16 code units: fixed across runs and platforms, unlike any built-in hash. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * MurmurHash3's finalizer: FNV alone leaves ids that differ in their last
 * character ("h0001", "h0002") close together on the ring, which would make
 * neighbouring hosts win ties for the same slots.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hostPoint(hostId: string): number {
  return fmix32(fnv1a32(hostId));
}

export function slotPoint(service: string, slot: number): number {
  // NUL cannot occur in a service name ([a-z0-9-]), so ("a", 12) and ("a1", 2) differ.
  return fmix32(fnv1a32(`${service}\u0000${slot}`));
}

/**
 * Clockwise distance from the slot's point to the host's, in [0, 2^32).
 * Worked example: slot at 0xFFFFFFF0, host at 0x00000010 → (0x10 - 0xFFFFFFF0) >>> 0 = 0x20:
 * the host just past the top of the ring is close, not far.
 */
export function ringDistance(hostPt: number, slotPt: number): number {
  return (hostPt - slotPt) >>> 0;
}
