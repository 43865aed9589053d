/**
 * `npm run chaos -- [--rounds 50] [--seed N] [--hosts 6] [--action 8s] [--bound 30s] [--agent-down-max 1500ms] [--spare-fenced-agent]`
 *
 * Keeps measuring robustness under faults (test/cluster/harness/chaos.ts says how):
 * a steady stream of applies, restarts and cordons, a load that follows
 * `berth endpoints -w`, and at random moments kill -9 of the controller or of an
 * agent, or a host's link down, each healed again. After every round it checks that
 * no acknowledged write was lost, that no instance slot ran twice beyond what the
 * design allows (sampled from the real processes every 200 ms), and that the fleet
 * converged within the bound. Needs root (network namespaces). Prints the figures and
 * one JSON line; exits 1 on any violation, naming the seed that reproduces it.
 */
import { parseDurationMs } from "../shared/duration.js";
import { cleanupLeftovers } from "../test/cluster/harness/topology.js";
import { formatResult, runChaos } from "../test/cluster/harness/chaos.js";
import { arg } from "./args.js";

const rounds = Number(arg("rounds", "20"));
const seed = Number(arg("seed", String(Date.now() % 1_000_000)));
const hosts = Number(arg("hosts", "6"));
const actionMs = parseDurationMs(arg("action", "8s"));
const boundMs = parseDurationMs(arg("bound", "30s"));
const agentDownMaxMs = parseDurationMs(arg("agent-down-max", "1500ms"));
// Spares the self-fenced singleton's host from agent kills (test/cluster/harness/chaos.ts).
const killFencedAgent = !process.argv.includes("--spare-fenced-agent");
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10_000) throw new Error("--rounds: 1..10000");
if (!Number.isInteger(seed) || seed < 0) throw new Error("--seed: a non-negative integer");
if (!Number.isInteger(hosts) || hosts < 5 || hosts > 32) throw new Error("--hosts: 5..32 (4 instances, and spares for surges and failover)");
if (agentDownMaxMs < 200) throw new Error("--agent-down-max: at least 200ms");
if (process.getuid?.() !== 0) {
  console.error("chaos needs network namespaces: run it as root");
  process.exit(2);
}

// Ctrl-C: the topology's own hook kills every process and removes the namespaces.
await cleanupLeftovers();
const started = Date.now();
console.log(`chaos: seed ${seed}, ${rounds} rounds, ${hosts} hosts, ${actionMs} ms of faults and writes per round, convergence bound ${boundMs} ms`);
const r = await runChaos({ seed, rounds, hosts, actionMs, convergeBoundMs: boundMs, agentDownMaxMs, killFencedAgent, log: (l) => console.log(l) });
console.log(`\n${formatResult(r)}\n  wall time:            ${((Date.now() - started) / 60_000).toFixed(1)} min`);
console.log(JSON.stringify({ bench: "chaos", ...r, violations: r.violations.map((v) => ({ ...v, detail: v.detail.slice(0, 500) })) }));
process.exitCode = r.violations.length > 0 || r.rounds < rounds ? 1 : 0;
