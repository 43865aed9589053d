/**
 * An agent's supervisor starting `sleep 1000` whose move into its cgroup never ends:
 * the cgroup's cgroup.procs is a FIFO nobody reads (record-before-cgroup.test.ts).
 * argv: <state file> <cgroup root> <work dir> <log dir>.
 */
import { Supervisor } from "../../../agent/supervisor/supervisor.js";

const [stateFile, cgroupRoot, workDir, logDir] = process.argv.slice(2);
if (!stateFile || !cgroupRoot || !workDir || !logDir) throw new Error("usage: slow-cgroup-child <state file> <cgroup root> <work dir> <log dir>");
const sup = new Supervisor({
  instanceId: "web-0",
  epoch: 3,
  specHash: "abc123",
  workDir,
  command: "sleep",
  args: ["1000"],
  env: {},
  user: "",
  stopSignal: "SIGTERM",
  stopTimeoutMs: 2_000,
  logDir,
  stateFile,
  cgroupRoot,
});
sup.start();
