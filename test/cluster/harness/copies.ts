/**
 * What really runs: the service processes on every host of a netns topology, read
 * from /proc (the namespaces share one pid namespace), and the rules that say when
 * copies of an instance slot overlap more than berth's design allows.
 *
 * A copy is a process whose environment carries BERTH_SERVICE / BERTH_INSTANCE /
 * BERTH_EPOCH (DESIGN.md "The service spec"), attributed to the host whose network
 * namespace it runs in. Processes of other runs are in other namespaces: ignored.
 */
import { readdir, readFile, readlink, stat } from "node:fs/promises";

export interface Copy {
  pid: number;
  /** Host index in the topology (1..N). */
  host: number;
  service: string;
  /** The slot, e.g. `web-0`. */
  instance: string;
  epoch: number;
}

/**
 * Lists the copies running right now in the namespaces `hostNs` names (index → namespace
 * name under /run/netns). One pass over /proc: the net namespace link first (one readlink),
 * the environment only of processes in our namespaces.
 */
export async function listCopies(hostNs: ReadonlyMap<number, string>): Promise<Copy[]> {
  const byInode = new Map<string, number>();
  for (const [i, ns] of hostNs) {
    try {
      byInode.set(`net:[${(await stat(`/run/netns/${ns}`)).ino}]`, i);
    } catch {
      // not there (yet): nothing can run in it
    }
  }
  const out: Copy[] = [];
  const pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    pids.map(async (p) => {
      let host: number | undefined;
      try {
        host = byInode.get(await readlink(`/proc/${p}/ns/net`));
      } catch {
        return; // gone
      }
      if (host === undefined) return;
      let env: string;
      try {
        env = await readFile(`/proc/${p}/environ`, "latin1");
      } catch {
        return;
      }
      // A zombie has an empty environ: it runs nothing any more.
      const vars = new Map<string, string>();
      for (const kv of env.split("\0")) {
        const eq = kv.indexOf("=");
        if (eq > 0 && kv.startsWith("BERTH_")) vars.set(kv.slice(0, eq), kv.slice(eq + 1));
      }
      const service = vars.get("BERTH_SERVICE");
      const instance = vars.get("BERTH_INSTANCE");
      const epoch = Number(vars.get("BERTH_EPOCH"));
      if (service && instance && Number.isInteger(epoch)) out.push({ pid: Number(p), host, service, instance, epoch });
    }),
  );
  return out.sort((a, b) => a.pid - b.pid);
}

export interface ServiceRules {
  /** `update.maxSurge` > 0: a rollout may run a second copy of a slot (epoch + 1) on a spare. */
  surge: boolean;
  /** `failover.stopAfterDisconnect` > 0 with one instance: never two copies, whatever happens. */
  fenced: boolean;
}

export type DuplicateKind =
  /** Two live processes of one assignment (service, instance, epoch): never allowed. */
  | "same-epoch"
  /** Copies of two different assignments in one host's namespace: Principle 1, never allowed. */
  | "two-on-host"
  /** A self-fenced singleton running twice, anywhere: never allowed, across partitions too. */
  | "fenced-twice"
  /** A slot on two hosts that neither a surge nor a disturbed host explains. */
  | "slot-on-two-hosts";

export interface Duplicate {
  kind: DuplicateKind;
  detail: string;
}

export interface Overlaps {
  duplicates: Duplicate[];
  /** Overlaps the design allows, for the figures: a surge copy, a stale copy on a cut-off host. */
  allowed: { surge: number; stale: number };
}

/**
 * Judges one sample. A slot may run on two hosts at once only when the design says so:
 *  - surge: the service has maxSurge > 0 and the two copies have different epochs (the
 *    rollout's new copy gets epoch + 1 on a spare while the old one serves; drive.ts);
 *  - stale: one of the hosts is disturbed (cut off, its agent dead, or within a grace
 *    after it came back, while the controller's "none" reaches it and the copy stops),
 *    and the service does not self-fence: without fencing, an isolated copy keeps
 *    running until its host is back (DESIGN.md "Epochs and fencing").
 * Never allowed, whatever the faults: two processes of one epoch, two assignments on one
 * host, and two copies of a self-fenced singleton.
 */
export function judgeCopies(copies: readonly Copy[], rules: ReadonlyMap<string, ServiceRules>, disturbed: (host: number) => boolean): Overlaps {
  const duplicates: Duplicate[] = [];
  const allowed = { surge: 0, stale: 0 };
  const group = <K>(key: (c: Copy) => K): Map<K, Copy[]> => {
    const m = new Map<K, Copy[]>();
    for (const c of copies) m.set(key(c), [...(m.get(key(c)) ?? []), c]);
    return m;
  };
  const show = (cs: readonly Copy[]): string => cs.map((c) => `${c.instance}@${c.epoch} on h${c.host} (pid ${c.pid})`).join(", ");

  for (const cs of group((c) => `${c.service}/${c.instance}/${c.epoch}`).values()) {
    if (cs.length > 1) duplicates.push({ kind: "same-epoch", detail: show(cs) });
  }
  for (const [host, cs] of group((c) => c.host)) {
    if (new Set(cs.map((c) => `${c.instance}/${c.epoch}`)).size > 1) duplicates.push({ kind: "two-on-host", detail: `h${host}: ${show(cs)}` });
  }
  for (const [service, cs] of group((c) => c.service)) {
    if (rules.get(service)?.fenced && new Set(cs.map((c) => c.host)).size > 1) duplicates.push({ kind: "fenced-twice", detail: show(cs) });
  }
  for (const cs of group((c) => `${c.service}/${c.instance}`).values()) {
    const hosts = new Set(cs.map((c) => c.host));
    if (hosts.size < 2) continue;
    const r = rules.get(cs[0]!.service);
    if (r?.fenced) continue; // judged above, more strictly
    const epochs = new Set(cs.map((c) => c.epoch));
    if (r?.surge && hosts.size === 2 && epochs.size === 2) allowed.surge++;
    else if ([...hosts].some(disturbed)) allowed.stale++;
    else duplicates.push({ kind: "slot-on-two-hosts", detail: show(cs) });
  }
  return { duplicates, allowed };
}
