/**
 * The entry of the CLI's V8 start-up snapshot (scripts/bundle-cli.mjs builds it
 * into dist/cli/berth.blob with `node --build-snapshot`; cli/launcher.sh runs it
 * with `node --snapshot-blob`). What an operator command loads — commander and
 * the command tree, grpc-js, protobufjs, the message types, our client and the
 * operator commands' modules — is loaded and run here once, at build time, and
 * every `berth` run starts from that heap instead of compiling and running it
 * again (README, "CLI start-up").
 *
 * What a snapshot may hold decides what is imported here:
 * - Only built-in modules, through one CommonJS script: the bundle holds every
 *   package an operator command needs; the daemons (`controller`, `agent`,
 *   `dev`, `lb`: cli/snapshot-scope.ts) are left out, and the launcher runs
 *   main.js for them. Nothing is exported: the builder runs this as a script.
 * - No native handles: Node 20 cannot snapshot `http2`, `tls`, `http` or `https`
 *   (their bindings abort the build), so the bundle gives grpc-js stand-ins that
 *   load the real module on first use, at run time (bundle-cli.mjs, "lazy builtins").
 * - Nothing read from the environment, the clock or stdio at load time, or it is
 *   frozen at build time: cli/program.ts and our modules read them when a command
 *   runs; grpc-js reads its GRPC_* variables at load, so the launcher runs main.js
 *   when any is set.
 */
import { startupSnapshot } from "node:v8";
import { runCli } from "./program.js";
// The operator commands' work, loaded now so it is in the heap; their lazy
// import()s in commands/ then find them loaded. `apply`/`plan` and `render` are
// in the bundle but not loaded here: their spec parsing (zod, yaml, tar) would
// be half the heap, which every run would pay to deserialize; they load from the
// bundle when they run. (A dynamic import() of a file cannot run at all in a
// process started from a snapshot on Node 20: everything is in the bundle.)
import "./run/ca.js";
import "./run/controllers.js";
import "./run/events.js";
import "./run/exec.js";
import "./run/gitops.js";
import "./run/hosts.js";
import "./run/rollout.js";
import "./run/secret.js";
import "./run/services.js";
import "./run/token.js";
import { loadOperatorProtos } from "../shared/proto.js";

// The gRPC service definition the client builds on every call-making run, with
// every message type and its generated encoder and decoder built now.
loadOperatorProtos({ eager: true });

startupSnapshot.setDeserializeMainFunction(() => {
  // The launcher passes main.js as the script, so argv is what main.js would see.
  void runCli(process.argv);
});
