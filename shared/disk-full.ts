/**
 * When the agent's data dir counts as full: below this much free space its fetches,
 * installs, service logs and state files fail. The controller's host.disk-full events
 * and `berth hosts`' "(full)" both go by it.
 */
export const DISK_FULL_BYTES = 64 * 1024 ** 2;

/**
 * Whether the disk is full now, with hysteresis (full below DISK_FULL_BYTES free, room
 * again above twice that); undefined when the usage says nothing of the disk. Pure.
 */
export function diskFullNow(u: { disk_total_bytes: number; disk_used_bytes: number }, wasFull: boolean): boolean | undefined {
  if (!(u.disk_total_bytes > 0)) return undefined;
  const free = u.disk_total_bytes - u.disk_used_bytes;
  return wasFull ? free < 2 * DISK_FULL_BYTES : free < DISK_FULL_BYTES;
}
