/**
 * Process checks for installer tests. A killed child of a killed shell is
 * re-parented, and until something reaps it its pid still answers kill(pid, 0):
 * "gone" here means no such pid, or a zombie.
 */
import { readFile, readdir } from "node:fs/promises";

export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S ...": the state follows the last ")" (comm may hold spaces).
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Pids of this process's children whose command name is comm. */
export async function childrenNamed(comm: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const c = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (c === comm && ppid === process.pid) out.push(Number(name));
    } catch {
      // the process exited while we looked
    }
  }
  return out;
}

/** The kernel function pid sleeps in ("" if it runs, or is gone). */
export async function wchan(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/wchan`, "utf8").catch(() => "");
}
