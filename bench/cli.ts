/**
 * `npm run bench:cli -- [--runs 15]` (after `npm run build`)
 *
 * How long the `berth` CLI takes to start and do one thing, the floor of every
 * command a person or a script runs (a rollout watched with `restart -w` pays it
 * once; a script polling `berth status` pays it every time). Runs each of
 *   --help        the command tree and its help: no gRPC, nothing of a daemon
 *   --version     as little as the CLI does
 *   services      one unary call to a live controller (started here, on 127.0.0.1,
 *                 in a temp dir): the gRPC client, TLS, the call, the table
 * --runs times, through each way of starting the CLI:
 *   berth         dist/cli/berth, the bin (cli/launcher.sh): the start-up snapshot
 *                 when one is built for this Node, else main.js
 *   berth, no snapshot   the same with BERTH_NO_SNAPSHOT=1: the launcher's own cost
 *   snapshot, Node's root store   node --snapshot-blob without the launcher's TLS
 *                 settings: the snapshot's share and the root store's apart
 *   node main.js  the ES bundle, as `node dist/cli/main.js` and the tests run it
 * alternated run by run, and prints the median and best wall time and the median
 * CPU time (user+sys of the child, from bash's `time`): on a shared machine CPU
 * time is the steadier figure. Last, `berth services` against bench/bare-call.ts,
 * the least any Node client does for one call (grpc-js, TLS, the call, nothing of
 * berth's): the floor a Node CLI cannot go under.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { arg } from "./args.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = resolve(ROOT, process.env.BENCH_MAIN ?? "dist/cli/main.js");
const BIN = resolve(ROOT, "dist/cli/berth");
const BLOB = resolve(ROOT, "dist/cli/berth.blob");
const BARE = resolve(ROOT, "dist/bench/bare-call.js");
const runs = Number(arg("runs", "15"));
if (!Number.isInteger(runs) || runs < 1 || runs > 200) throw new Error("--runs: 1..200");
if (!existsSync(MAIN) || !existsSync(BIN) || !existsSync(BARE)) throw new Error(`${MAIN}, ${BIN} or ${BARE} is missing: npm run build first`);

interface Run {
  wallMs: number;
  cpuMs: number;
  code: number | null;
  stderr: string;
}

/** One run of `cmd`, under bash's `time` (the child's user+sys CPU, to the ms): the same small overhead for every variant. */
function once(cmd: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("bash", ["-c", 'TIMEFORMAT="%3U %3S"; time "$@" >/dev/null 2>&3', "bench", ...cmd], { env, stdio: ["ignore", "ignore", "pipe", "pipe"] });
    let times = "";
    let stderr = "";
    child.stdio[2]!.on("data", (b: Buffer) => (times += b.toString()));
    child.stdio[3]!.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const [u, sys] = times.trim().split("\n").pop()!.split(" ").map(Number);
      resolve({ wallMs: performance.now() - t0, cpuMs: ((u ?? NaN) + (sys ?? NaN)) * 1000, code, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Variant {
  name: string;
  cmd: string[];
  env: NodeJS.ProcessEnv;
}

/** Each variant `runs` times, alternated run by run, so a change of the machine's load falls on every variant alike. */
async function alternated(variants: Variant[]): Promise<Run[][]> {
  const rs = variants.map((): Run[] => []);
  for (let n = 0; n < runs; n++) {
    for (const [k, v] of variants.entries()) {
      const r = await once(v.cmd, v.env);
      if (r.code !== 0) throw new Error(`${v.name} (${v.cmd.slice(1).join(" ")}) exited ${r.code}: ${r.stderr}`);
      rs[k]!.push(r);
    }
  }
  return rs;
}

/** One line of the table: median and best wall time, median CPU. */
function row(command: string, name: string, rs: Run[]): void {
  const w = rs.map((r) => r.wallMs);
  console.log(`${command.padEnd(11)} ${name.padEnd(38)} ${median(w).toFixed(0).padStart(8)} ms ${Math.min(...w).toFixed(0).padStart(8)} ms ${median(rs.map((r) => r.cpuMs)).toFixed(0).padStart(10)} ms`);
}

function withoutExtraCa(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e = { ...env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

const dir = mkdtempSync(join(tmpdir(), "berth-bench-cli-"));
const port = await freePort();
const ctl = spawn(process.execPath, [join(ROOT, "dist/cli/main.js"), "controller", "--data-dir", join(dir, "data"), "--listen", `127.0.0.1:${port}`, "--metrics-addr", "off", "--ui-addr", "off", "--no-write-config", "--log-level", "warn"], { stdio: "ignore" });
try {
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_ADDR: `127.0.0.1:${port}`, BERTH_CA: join(dir, "data/ca.crt"), BERTH_CONFIG: join(dir, "no-config"), NO_COLOR: "1" };
  // The controller is up once its admin token is written and a call gets through.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (ctl.exitCode !== null) throw new Error(`the controller exited (${ctl.exitCode})`);
    if (existsSync(join(dir, "data/admin.token"))) {
      env.BERTH_TOKEN = readFileSync(join(dir, "data/admin.token"), "utf8").trim();
      if ((await once([process.execPath, MAIN, "services"], env)).code === 0) break;
    }
    if (Date.now() > deadline) throw new Error("the controller did not answer within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const snapshot = existsSync(BLOB) ? "a snapshot is built" : "NO snapshot built";
  console.log(`berth CLI start-up, ${runs} runs each (node ${process.version}, ${snapshot}, NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? "set" : "unset"}, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`);
  const variants: Variant[] = [
    { name: "berth", cmd: [BIN], env },
    { name: "berth, no snapshot", cmd: [BIN], env: { ...env, BERTH_NO_SNAPSHOT: "1" } },
    // The snapshot without the launcher's TLS settings (Node's bundled roots, NODE_EXTRA_CA_CERTS kept): what each of the two saves.
    ...(existsSync(BLOB) ? [{ name: "snapshot, Node's root store", cmd: [process.execPath, "--snapshot-blob", BLOB, MAIN], env }] : []),
    { name: "node main.js", cmd: [process.execPath, MAIN], env },
  ];
  // NODE_EXTRA_CA_CERTS (set on some machines for other tools) makes Node 20 parse that file and
  // its own bundled roots as every process starts, before any of berth runs: main.js shown without it too.
  if (process.env.NODE_EXTRA_CA_CERTS) variants.push({ name: "node main.js, no NODE_EXTRA_CA_CERTS", cmd: [process.execPath, MAIN], env: withoutExtraCa(env) });
  console.log("command     started as                              wall median   wall best   cpu median (user+sys)");
  for (const args of [["--help"], ["--version"], ["services"]]) {
    const label = args.join(" ");
    const rs = await alternated(variants.map((v) => ({ ...v, cmd: [...v.cmd, ...args] })));
    for (const [k, v] of variants.entries()) row(label, v.name, rs[k]!);
  }
  // What any Node client pays for one call: Node, grpc-js, TLS, the call (bench/bare-call.ts), beside the bin.
  const floor = [
    { ...variants[0]!, cmd: [...variants[0]!.cmd, "services"] },
    { name: "bare grpc-js client (bench/bare-call.ts)", cmd: [process.execPath, BARE], env: withoutExtraCa(env) },
  ];
  const frs = await alternated(floor);
  console.log("one call, against the least a Node client does (no NODE_EXTRA_CA_CERTS for either):");
  for (const [k, v] of floor.entries()) row(k === 0 ? "services" : "", v.name, frs[k]!);
  console.log(`load after: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
} finally {
  ctl.kill("SIGTERM");
  await new Promise((r) => (ctl.exitCode !== null ? r(undefined) : ctl.once("exit", r)));
  rmSync(dir, { recursive: true, force: true });
}
