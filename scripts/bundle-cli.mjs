/**
 * `npm run build`'s last step: the CLI as one ES module (dist/cli/main.js, which the
 * bin dist/cli/berth runs when it does not start from the snapshot built below)
 * plus the chunks its lazy imports load (dist/cli/bundle/), built with esbuild
 * from tsc's output. Every `berth` run pays for loading its code: as ~140 files
 * (our modules, grpc-js, protobufjs, commander) that is a module resolution, a read
 * and a compile each; bundled, it is a handful of files (README, "CLI start-up").
 *
 * What the split stays: commands/ descriptors are in main.js, each cli/run/ module is
 * a chunk of its own, so --help still loads no gRPC and an operator command none of
 * a daemon's code (test/unit/cli/cli-modules.test.ts guards the sources' imports,
 * which decide the chunks). Only the packages the operator commands load are bundled;
 * the daemons' (LevelDB and node-pty with their native parts, pino's workers, …) are
 * loaded from node_modules as before. Modules that find files by their own path use
 * shared/package-root.ts, since chunks sit elsewhere than tsc's files.
 */
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAIN = join(ROOT, "dist/cli/main.js");
const CHUNKS = join(ROOT, "dist/cli/bundle");
const MARK = "// berth: bundled by scripts/bundle-cli.mjs";

/** Packages bundled: what an operator command loads. Any other stays a runtime import. */
const BUNDLED = /^(@grpc\/grpc-js|@grpc\/proto-loader|protobufjs|@protobufjs\/[^/]+|long|commander|@js-sdsl\/ordered-map|lodash\.camelcase)(\/|$)/;

if (readFileSync(MAIN, "utf8").includes(MARK)) {
  console.error(`${MAIN} is a bundle already: run tsc first (npm run build)`);
  process.exit(1);
}

const result = await build({
  entryPoints: { main: MAIN },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: join(ROOT, "dist/cli"),
  chunkNames: "bundle/[name]-[hash]",
  write: false,
  allowOverwrite: true,
  logLevel: "warning",
  // CommonJS packages in an ES module: their require() of node's modules needs one.
  banner: { js: `${MARK}\nimport { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);` },
  plugins: [
    {
      name: "bundle-only-the-clients-packages",
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith("node:") || BUNDLED.test(args.path)) return undefined;
          return { path: args.path, external: true };
        });
      },
    },
  ],
});

rmSync(CHUNKS, { recursive: true, force: true });
mkdirSync(CHUNKS, { recursive: true });
for (const f of result.outputFiles) writeFileSync(f.path, f.contents, { mode: f.path === MAIN ? 0o755 : 0o644 });

// ---------------------------------------------------------------------------
// The start-up snapshot (README, "CLI start-up"): dist/cli/snapshot.cjs, one
// CommonJS script of the operator commands and every package they load, is run
// once by `node --build-snapshot` into dist/cli/berth.blob; cli/launcher.sh
// (dist/cli/berth, the bin) starts operator commands from it. The blob fits only
// the Node binary that built it: berth.blob.stamp names that binary (and the blob)
// by inode, change time and size, and the launcher uses the blob only when both
// still match, else main.js. A snapshot that cannot be built or does not run
// leaves no blob: the build goes on, and `berth` runs main.js.
// ---------------------------------------------------------------------------
const SNAP_ENTRY = join(ROOT, "dist/cli/snapshot.js");
const SNAP_CJS = join(ROOT, "dist/cli/snapshot.cjs");
const BLOB = join(ROOT, "dist/cli/berth.blob");
const STAMP = `${BLOB}.stamp`;
const LAUNCHER = join(ROOT, "dist/cli/berth");

/** Modules of the commands the snapshot leaves to main.js (cli/snapshot-scope.ts): they load the daemons' native packages. */
const DAEMON_MODULES = /[/\\]dist[/\\]cli[/\\](run[/\\](daemons|dev|agent-install)|lb[/\\](run|install-cmd))\.js$/;

/**
 * Lazy builtins: Node 20 aborts a snapshot whose heap holds http2's, tls's or
 * http's native state, and grpc-js loads them at its top level. In the snapshot
 * bundle they are stand-ins that load the real module on first use, at run time.
 * While the snapshot is built only the plain data grpc-js reads at load may be
 * read (http2.constants, copied here from this very Node); anything else throws,
 * so a new use fails the build rather than the blob.
 */
const LAZY_BUILTINS = ["http2", "tls", "http", "https"];
const BAKED = { http2: { constants: (await import("node:http2")).constants } };
function lazyBuiltin(name) {
  return `"use strict";
const v8 = require("node:v8");
const baked = ${JSON.stringify(BAKED[name] ?? {})};
let real;
const load = () => (real ??= process.getBuiltinModule ? process.getBuiltinModule("node:${name}") : require("node:${name}"));
module.exports = new Proxy({}, {
  get(_, key) {
    if (real === undefined && v8.startupSnapshot.isBuildingSnapshot()) {
      if (typeof key === "string" && Object.hasOwn(baked, key)) return baked[key];
      if (key === "__esModule" || typeof key === "symbol") return undefined;
      throw new Error("node:${name}." + String(key) + " is used while the CLI's snapshot is built: only " + Object.keys(baked).join(", ") + " may be (scripts/bundle-cli.mjs)");
    }
    return load()[key];
  },
  has(_, key) { return key in load(); },
  ownKeys() { return Reflect.ownKeys(load()); },
  getOwnPropertyDescriptor(_, key) { const d = Object.getOwnPropertyDescriptor(load(), key); return d && { ...d, configurable: true }; },
});
`;
}

/** Builds the blob; returns why not, or undefined. */
async function buildSnapshot() {
  const { spawnSync } = await import("node:child_process");
  const { existsSync, statSync, realpathSync } = await import("node:fs");
  for (const f of [BLOB, STAMP, SNAP_CJS]) rmSync(f, { force: true });
  if (!existsSync(SNAP_ENTRY)) return `${SNAP_ENTRY} is missing`;
  await build({
    entryPoints: [SNAP_ENTRY],
    outfile: SNAP_CJS,
    bundle: true,
    format: "cjs",
    minifyWhitespace: true,
    minifySyntax: true,
    platform: "node",
    target: "node20",
    logLevel: "warning",
    // Modules that find berth's files by their own URL (shared/package-root.ts, output.ts's yaml) get main.js's, as in the ES bundle.
    // Read when used, not at build: argv[1] is snapshot.cjs while building, main.js (wherever it is now) at run time.
    define: { "import.meta.url": "__berthMeta.url" },
    banner: { js: `// berth: the CLI's start-up snapshot entry, bundled by scripts/bundle-cli.mjs\nvar __berthUrl = require("node:url"); var __berthMeta = { get url() { return __berthUrl.pathToFileURL(process.argv[1]).href; } };` },
    plugins: [
      {
        name: "snapshot-stand-ins",
        setup(b) {
          b.onResolve({ filter: /^(node:)?(http2|tls|http|https)$/ }, (args) =>
            args.namespace === "lazy-builtin" ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
          );
          b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({ contents: lazyBuiltin(args.path), loader: "js", resolveDir: ROOT }));
          b.onLoad({ filter: DAEMON_MODULES }, () => ({
            contents: `throw new Error("this command is not in the CLI's snapshot: the launcher runs main.js for it (cli/snapshot-scope.ts)");`,
            loader: "js",
          }));
        },
      },
    ],
  });
  const node = realpathSync(process.execPath);
  // What grpc-js reads from the environment as it loads is frozen into the blob: its defaults, then (the launcher runs main.js when any is set).
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GRPC_") && k !== "NODE_OPTIONS"));
  const made = spawnSync(node, ["--snapshot-blob", BLOB, "--build-snapshot", SNAP_CJS], { cwd: ROOT, encoding: "utf8", env: clean });
  if (made.status !== 0) return `node --build-snapshot exited ${made.status ?? made.signal}: ${(made.stderr || made.stdout).trim().split("\n").slice(-3).join(" / ")}`;
  // It must run, and say what main.js says, before any launcher uses it.
  const plain = spawnSync(node, [MAIN, "--version"], { encoding: "utf8" });
  const snap = spawnSync(node, ["--snapshot-blob", BLOB, MAIN, "--version"], { encoding: "utf8", env: clean });
  if (snap.status !== 0 || snap.stdout !== plain.stdout) return `the blob does not run: exit ${snap.status ?? snap.signal}, ${JSON.stringify(snap.stdout + snap.stderr).slice(0, 300)}`;
  // As the launcher's `stat -L -c '%i %Z %s' NODE BLOB` prints them.
  const id = (f) => {
    const s = statSync(f);
    return `${s.ino} ${Math.floor(s.ctimeMs / 1000)} ${s.size}`;
  };
  writeFileSync(STAMP, `${id(node)}\n${id(BLOB)}\n`);
  return undefined;
}

const why = await buildSnapshot().catch((e) => String(e?.message ?? e));
if (why !== undefined) {
  for (const f of [BLOB, STAMP]) rmSync(f, { force: true });
  console.error(`berth: no start-up snapshot for the CLI (berth runs main.js, a little slower to start): ${why}`);
}
writeFileSync(LAUNCHER, readFileSync(join(ROOT, "cli/launcher.sh")), { mode: 0o755 });
