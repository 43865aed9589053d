/**
 * A simulator worker: runs one slice of the simulated fleet in its own process,
 * driven over IPC by bench/agents.ts (see ipc.ts). Not meant to be run by hand.
 */
import { Simulator, errText } from "./sim.js";
import { isToWorker, type FromWorker } from "./ipc.js";

function send(m: FromWorker): void {
  process.send?.(m);
}

if (!process.send) {
  process.stderr.write("bench/sim-worker: run by bench/agents.js (npm run bench:agents), not by hand\n");
  process.exit(2);
}

let sim: Simulator | undefined;
let lastProgress = 0;

process.on("message", (m: unknown) => {
  if (!isToWorker(m)) return;
  void (async () => {
    try {
      switch (m.type) {
        case "setup": {
          const s = new Simulator(m.cfg);
          sim = s;
          const report = await s.setup((done, failed) => {
            // Throttled: progress is for a human watching, not worth an IPC message per agent.
            const now = Date.now();
            if (now - lastProgress >= 500 || done + failed === m.cfg.count) {
              lastProgress = now;
              send({ type: "progress", done, failed });
            }
          });
          send({ type: "setup-done", report });
          break;
        }
        case "start":
          sim?.startWindow();
          break;
        case "end": {
          if (!sim) throw new Error("end before setup");
          send({ type: "result", result: await sim.endWindow(m.graceMs) });
          break;
        }
        case "status":
          if (!sim) throw new Error("status before setup");
          send({ type: "status", status: sim.status() });
          break;
        case "reset-reconnects":
          sim?.resetReconnects();
          break;
        case "close":
          sim?.close();
          process.disconnect();
          break;
      }
    } catch (err) {
      send({ type: "error", message: errText(err) });
    }
  })();
});

// The parent went away (crashed or was killed): don't linger with 500 open streams.
process.on("disconnect", () => {
  sim?.close();
  process.exit(0);
});
