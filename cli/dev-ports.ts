/**
 * The ports `berth dev` hands out on 127.0.0.1, from its flags. Pure.
 *
 * A group's members listen on PORT, PORT+1, …; their web consoles follow on the
 * next ports (by default: 7420–7422 and 7423–7425 for 3 members; 7420 and 7421
 * for one controller, as before). The consoles once started at a fixed 7421, so in
 * a group the first member's console and the second member's gRPC port raced for
 * 7421 and whichever lost exited. Every port is checked here, before anything
 * starts: two things given one port is a usage error naming both and the flags.
 *
 * Agents listen on their own addresses (127.0.0.2 …), never on 127.0.0.1.
 */
import { createServer } from "node:net";
import { CliError, EXIT } from "./errors.js";

export interface DevPortFlags {
  /** Members in the group (1 for a lone controller). */
  controllers: number;
  /** --port: the first member's gRPC port. */
  port: number;
  /** --metrics-port, 0 when off. */
  metricsPort: number;
  /** --ui-port, 0 when off; undefined: the port after the members' own. */
  uiPort: number | undefined;
  /** --etcd-port: the first etcd member's client port (a group only). */
  etcdPort: number;
}

export interface DevPorts {
  /** Member i's gRPC port: agents and the CLI. */
  controllers: number[];
  /** Member i's /metrics port, 0 when off. */
  metrics: number[];
  /** Member i's web console port, 0 when off. */
  ui: number[];
  /** etcd member i's client port (empty for a lone controller). */
  etcdClient: number[];
  /** etcd member i's peer port. */
  etcdPeer: number[];
}

/** An etcd member's peer port is this far above its client port. */
export const ETCD_PEER_OFFSET = 10;

export function devPorts(f: DevPortFlags): DevPorts {
  const n = f.controllers;
  const each = (at: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => at(i));
  const ui0 = f.uiPort ?? f.port + n;
  const ports: DevPorts = {
    controllers: each((i) => f.port + i),
    // The first member keeps the port given, so `curl 127.0.0.1:9464/metrics` works for one controller and a group alike.
    metrics: each((i) => (f.metricsPort ? f.metricsPort + (i === 0 ? 0 : 100 + i) : 0)),
    ui: each((i) => (ui0 ? ui0 + i : 0)),
    etcdClient: n > 1 ? each((i) => f.etcdPort + i) : [],
    etcdPeer: n > 1 ? each((i) => f.etcdPort + ETCD_PEER_OFFSET + i) : [],
  };

  const taken = new Map<number, string>();
  for (const u of portUses(f, ports)) {
    if (!Number.isInteger(u.port) || u.port < 1 || u.port > 65535) throw new CliError(`${u.what} would be port ${u.port}, outside 1–65535`, EXIT.usage, "give lower ports");
    const other = taken.get(u.port);
    if (other) throw new CliError(`${other} and ${u.what} would both listen on 127.0.0.1:${u.port}`, EXIT.usage, "give them ports apart (--port, --ui-port, --metrics-port, --etcd-port), or --ui-port off / --metrics-port off");
    taken.set(u.port, u.what);
  }
  return ports;
}

/** Each port `ports` hands out, with what listens there and the flag it comes from. Pure. */
export function portUses(f: DevPortFlags, ports: DevPorts): { port: number; what: string }[] {
  const n = f.controllers;
  const member = (i: number): string => (n > 1 ? `controller c${i + 1}` : "the controller");
  const plus = (flag: string, base: number, d: number): string => `${flag} ${base}${d ? ` + ${d}` : ""}`;
  const uses: { port: number; what: string }[] = [
    ...ports.controllers.map((port, i) => ({ port, what: `${member(i)} (${plus("--port", f.port, i)})` })),
    ...ports.metrics.map((port, i) => ({ port, what: `${member(i)}'s metrics (${plus("--metrics-port", f.metricsPort, i === 0 ? 0 : 100 + i)})` })),
    ...ports.ui.map((port, i) => ({ port, what: `${member(i)}'s web console (${f.uiPort === undefined ? `the port after the controllers', ${port}` : plus("--ui-port", f.uiPort, i)})` })),
    ...ports.etcdClient.map((port, i) => ({ port, what: `etcd member e${i + 1}'s clients (${plus("--etcd-port", f.etcdPort, i)})` })),
    ...ports.etcdPeer.map((port, i) => ({ port, what: `etcd member e${i + 1}'s peers (${plus("--etcd-port", f.etcdPort, ETCD_PEER_OFFSET + i)})` })),
  ].filter((u) => u.port !== 0);
  return uses;
}

/**
 * The planned ports something else already listens on (tried by binding 127.0.0.1:port a
 * moment): checked before anything starts, so a fleet does not come half up and then stop
 * because its third etcd member found its peer port taken — an ephemeral port (32768–60999
 * on Linux) can be held by any process's outgoing connection.
 */
export async function portsTaken(uses: readonly { port: number; what: string }[]): Promise<{ port: number; what: string; why: string }[]> {
  const out: { port: number; what: string; why: string }[] = [];
  for (const u of uses) {
    const why = await new Promise<string | undefined>((done) => {
      const srv = createServer();
      srv.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      srv.listen({ host: "127.0.0.1", port: u.port, exclusive: true }, () => srv.close(() => done(undefined)));
    });
    if (why !== undefined) out.push({ ...u, why });
  }
  return out;
}
