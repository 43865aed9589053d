/**
 * The last minutes of each host's CPU, memory and disk use, for the console's
 * sparklines: the controller keeps only a host's latest usage, so the console
 * samples it. Pure: the caller says when, and what it saw.
 */
export interface UsageSample {
  atMs: number;
  cpu: number;
  /** Shares of 100. */
  mem: number;
  disk: number;
}

export interface UsageIn {
  cpu_percent: number;
  memory_used_bytes: number;
  memory_total_bytes: number;
  disk_used_bytes: number;
  disk_total_bytes: number;
}

/** One sample each 10 s, 30 kept: the last five minutes. */
export const USAGE_SAMPLE_MS = 10_000;
export const USAGE_SAMPLES = 30;

const share = (used: number, total: number): number => (total > 0 ? Math.round((used / total) * 1000) / 10 : 0);

export class UsageHistory {
  private readonly byHost = new Map<string, UsageSample[]>();

  constructor(private readonly keep = USAGE_SAMPLES) {}

  /** `hosts`: every known host now; a host gone from it is forgotten. */
  record(atMs: number, hosts: ReadonlyMap<string, UsageIn | null | undefined>): void {
    for (const id of this.byHost.keys()) if (!hosts.has(id)) this.byHost.delete(id);
    for (const [id, u] of hosts) {
      if (!u) continue;
      const list = this.byHost.get(id) ?? [];
      list.push({ atMs, cpu: Math.round(u.cpu_percent * 10) / 10, mem: share(u.memory_used_bytes, u.memory_total_bytes), disk: share(u.disk_used_bytes, u.disk_total_bytes) });
      if (list.length > this.keep) list.splice(0, list.length - this.keep);
      this.byHost.set(id, list);
    }
  }

  of(id: string): UsageSample[] {
    return this.byHost.get(id) ?? [];
  }
}
