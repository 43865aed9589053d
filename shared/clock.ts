/**
 * Clocks. Wall time (Date.now) is for timestamps people read and for what is
 * stored or sent; every interval — a deadline, a timeout, a TTL, "how long
 * since" — is measured on the monotonic clock, which an NTP step never moves.
 * A wall clock stepped back an hour would otherwise make a self-fencing agent
 * wait an hour longer than the controller assumes: two copies.
 *
 * monoMs is CLOCK_MONOTONIC (process.hrtime on Linux): unlike performance.now(),
 * whose origin is this process's start, it is shared by every process of one
 * boot, so an agent that restarts can still measure from a time its previous
 * run recorded (with the boot id, so a reboot is not misread).
 */
import { readFileSync } from "node:fs";

export type Clock = () => number;

/** Milliseconds on the monotonic clock (since boot on Linux, suspend excluded). */
export const monoMs: Clock = () => Number(process.hrtime.bigint()) / 1e6;

/** This boot's id ("" when the kernel does not say): monotonic readings compare only within one boot. */
export function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}
