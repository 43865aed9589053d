/**
 * `npm run build`'s last step: the CLI as one ES module (dist/cli/main.js, still the
 * bin) plus the chunks its lazy imports load (dist/cli/bundle/), built with esbuild
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
