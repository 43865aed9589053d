// A process that installs the agent's crash guard and then fails (crash.test.ts).
// argv: "reject" (an unhandled rejection, then a clean exit 0 if still alive) or "throw".
import { pino } from "pino";
import { guardProcess } from "../../../agent/crash.js";

const log = pino({ base: null, timestamp: false });
guardProcess({ log, stop: async () => void process.stdout.write('{"msg":"stopped cleanly"}\n'), stopWithinMs: 5_000 });
if (process.argv[2] === "reject") {
  void Promise.reject(new Error("boom"));
  setTimeout(() => {
    process.stdout.write('{"msg":"still running"}\n');
  }, 100);
} else {
  setTimeout(() => {
    throw new Error("kaboom");
  }, 10);
  setInterval(() => undefined, 1000); // keeps running unless the guard exits
}
