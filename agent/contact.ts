/**
 * When the controller was last heard from, kept across agent restarts: self-fencing
 * must count from it, not from the new agent's start, or a restart mid-partition
 * would reset the count and the isolated copy would outlive the controller's wait.
 *
 * Kept on the monotonic clock (shared/clock.ts), which processes of one boot share
 * and NTP never steps, with the boot id; a reading from another boot (nothing the
 * agent started survives a reboot anyway) or an old file holding wall time is
 * carried over by wall-clock age, the only measure left.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { writeFileAtomic } from "../shared/state-file.js";
import { bootId, monoMs, type Clock } from "../shared/clock.js";

const contactSchema = z.object({ boot: z.string(), mono: z.number(), wall: z.number() });

export interface ContactClocks {
  mono?: Clock;
  wall?: Clock;
  boot?: () => string;
}

/** The last contact on this process's monotonic clock; 0 when never (or unreadable: fencing then counts from 0, at once). */
export async function loadLastContact(file: string, c: ContactClocks = {}): Promise<number> {
  const mono = c.mono ?? monoMs;
  const wall = c.wall ?? Date.now;
  const text = await readFile(file, "utf8").catch(() => "");
  if (!text.trim()) return 0;
  let saved: { boot: string; mono: number; wall: number };
  try {
    const json: unknown = JSON.parse(text);
    // Before this format: a bare number, the wall time of the last contact.
    saved = typeof json === "number" ? { boot: "", mono: 0, wall: json } : contactSchema.parse(json);
  } catch {
    return 0;
  }
  const boot = (c.boot ?? bootId)();
  if (boot && saved.boot === boot) return saved.mono;
  if (saved.wall <= 0) return 0;
  // Clamped: a wall clock stepped back must not make the contact look newer than now.
  return mono() - Math.max(0, wall() - saved.wall);
}

export async function saveLastContact(file: string, contactMono: number, c: ContactClocks = {}): Promise<void> {
  const mono = c.mono ?? monoMs;
  const wall = c.wall ?? Date.now;
  const boot = (c.boot ?? bootId)();
  // Its wall time, for a reader on another boot: now, less how long ago it was.
  await writeFileAtomic(file, JSON.stringify({ boot, mono: contactMono, wall: wall() - (mono() - contactMono) }) + "\n");
}
