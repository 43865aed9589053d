/**
 * Issue 11, the agent's and the CLI's side of a controller group, as far as one
 * controller on LevelDB can show it honestly: the "members" are addresses of
 * the controller's node — one where nothing listens (a dead member), the one it
 * runs on, and the one it is restarted on (same data dir: the same CA, records
 * and hosts, as members sharing one store). An agent and the CLI given all of
 * them join and stay on the live one, and follow the controller to its new
 * address: the same host, its instance still the same process, the CLI's
 * `events -f` still printing.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BERTH_MAIN, Cluster, type HostJson } from "./harness/cluster.js";
import { recentOutput } from "./harness/topology.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";

/** The agent's "connected" log lines, in order: the member each stream was with. */
function connectedTo(out: string): string[] {
  return out
    .split("\n")
    .filter((l) => l.includes('"msg":"connected"'))
    .map((l) => (JSON.parse(l) as { controller: string }).controller);
}

describe("agents and the CLI with a controller group's member list", () => {
  let c: Cluster;

  beforeAll(async () => {
    // TTL 6 s: the grace a restarted controller gives its hosts, which the agent must beat while it looks through its members.
    c = await Cluster.start({ hosts: 1, ttl: "6s", heartbeat: "500ms", startAgents: false });
  });
  tearDownWith(() => c);

  it("an agent and `events -f` given DEAD,LIVE,OTHER stay on LIVE and follow the controller to OTHER: same host, same pid", async () => {
    const dead = c.controllerAddrAt(7499);
    const live = c.controllerAddr;
    const other = c.controllerAddrAt(7421);
    const members = `${dead},${live},${other}`;

    // The CLI: a one-call command with a dead member first.
    const one = await c.topo.run(0, [process.execPath, BERTH_MAIN, "hosts", "-o", "json"], { env: { ...c.env(), BERTH_ADDR: `${dead},${live}` }, timeoutMs: 30_000 });
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual([]);

    const token = await c.joinToken(1);
    const agent = c.startAgent(1, { token, controllers: members });
    const [host] = await c.waitForHosts((hs) => hs.length === 1 && hs[0]!.status === "ready", "the agent joined and ready");
    const hostId = await c.hostIdOf(1);
    expect(host!.id).toBe(hostId);
    // The identity keeps every member: a restart without --controller still knows the group.
    const meta = JSON.parse(await readFile(join(c.hostDir(1), "identity", "host.json"), "utf8")) as { controller: string };
    expect(meta.controller).toBe(members);

    const r = await c.apply(await c.specDir("grp", { "grp.yaml": svcSpec("grp") }));
    expect(r.code, r.stderr).toBe(0);
    const before = await c.waitForStatus("grp", (s) => s.instances[0]?.state === "healthy" && s.instances[0].pid > 0, "grp healthy");
    const pid = before.instances[0]!.pid;
    expect(connectedTo(recentOutput(agent).stdout).every((m) => m === live)).toBe(true);

    // `events -f` with every member: its first line is the newest event, then it follows.
    const follow = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "events", "-f", "-n", "1"], { env: { ...c.env(), BERTH_ADDR: members } });
    await waitFor(() => recentOutput(follow).stdout.includes("\n"), { timeoutMs: 20_000, what: "events -f printing its history" });

    // The member dies; the controller comes back on another member's address, same store.
    await c.killControllerProcess();
    await c.startController({ port: 7421 });

    await waitFor(() => connectedTo(recentOutput(agent).stdout).at(-1) === other, { timeoutMs: 30_000, what: "the agent connected to the other member" });
    const hosts = await c.waitForHosts((hs) => hs.length === 1 && hs[0]!.status === "ready" && hs[0]!.connected, "the same host ready again");
    expect(hosts.map((h: HostJson) => h.id)).toEqual([hostId]);
    expect(await c.hostIdOf(1)).toBe(hostId);
    const after = await c.waitForStatus("grp", (s) => s.instances[0]?.state === "healthy", "grp healthy after the move");
    expect(after.instances[0]!.pid).toBe(pid);
    expect(after.instances[0]!.host).toBe(hostId);
    // Never joined anew, never a stream with the dead member.
    expect(connectedTo(recentOutput(agent).stdout)).not.toContain(dead);

    // `events -f` went with it: an event made now, on the new member, is printed.
    const cordon = await c.cli(["cordon", hostId]);
    expect(cordon.code, cordon.stderr).toBe(0);
    await waitFor(() => recentOutput(follow).stdout.includes("host.cordoned"), { timeoutMs: 30_000, what: "events -f printing the cordon" });
    expect(follow.exitCode).toBeNull();
    expect(recentOutput(follow).stderr).toMatch(/lost the controller .*following again/);
  }, 180_000);

  it("a one-call command given a frozen member first (it accepts the connection, never answers) prints from the next and exits", async () => {
    // What a paused (SIGSTOP) or wedged member looks like from outside: the kernel accepts, nothing speaks.
    const frozen = c.controllerAddrAt(7498);
    const [host, port] = [frozen.slice(0, frozen.lastIndexOf(":")), frozen.slice(frozen.lastIndexOf(":") + 1)];
    const listener = c.topo.spawn(0, [process.execPath, "-e", `require("node:net").createServer(() => {}).listen(${port}, ${JSON.stringify(host)}, () => console.log("listening"))`]);
    try {
      await waitFor(() => recentOutput(listener).stdout.includes("listening"), { timeoutMs: 20_000, what: "the frozen member's listener" });
      // Its channel to the frozen member is still dialing when the answer is printed: it must not hold the process open.
      const r = await c.topo.run(0, [process.execPath, BERTH_MAIN, "hosts", "-o", "json"], { env: { ...c.env(), BERTH_ADDR: `${frozen},${c.controllerAddr}` }, timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as HostJson[]).length).toBe(1);
    } finally {
      listener.kill("SIGKILL");
    }
  }, 60_000);
});
