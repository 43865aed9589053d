/**
 * A failing step backs off, even while the controller sends the same list again:
 * each failure is reported, the controller hears news (the error) and sends the
 * list back to every follower, this one included. That used to cut the backoff
 * short: a reload failing on a line with a timestamp in it ran hundreds of times a second.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NginxDriver } from "../../../../cli/lb/nginx.js";
import { LbMetrics } from "../../../../cli/lb/metrics.js";
import type { AppliedReport, DesiredList } from "../../../../cli/lb/driver.js";
import { createLogger } from "../../../../shared/log/logger.js";
import { until } from "../../until.js";

const list: DesiredList = { version: "ab12", servers: [{ name: "web-0_h1", address: "127.0.0.1", port: 8080 }], drainTimeMs: 0 };

describe("an lb step that fails", () => {
  let dir = "";
  let d: NginxDriver | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is retried with backoff while the same list comes back after each failure", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-lb-retry-"));
    const failures: number[] = [];
    const reports: AppliedReport[] = [];
    d = new NginxDriver(
      {
        log: createLogger("lb-test", "silent"),
        metrics: new LbMetrics(),
        now: Date.now,
        report: (r) => {
          reports.push(r);
          if (!r.error) return;
          failures.push(performance.now());
          // As the controller does: the error is news, and the list comes back to the lb a moment later.
          setTimeout(() => d?.set({ ...list }), 2);
        },
      },
      // A reload that fails with a new message each time, as nginx's own do (they carry a timestamp).
      { service: "web", upstream: "web", upstreamFile: join(dir, "up.conf"), nginx: "/bin/true", reloadCmd: "date +%N; exit 1", wait: { quietMs: 0, maxMs: 0 } },
    );
    d.set({ ...list });
    await until(() => failures.length >= 3, "three failed reloads");
    // Retries 0 and 1 wait at least 100 and 200 ms (shared/backoff.ts: 200 ms doubling, half of it jitter).
    expect(failures[2]! - failures[0]!).toBeGreaterThanOrEqual(290);
    expect(reports.at(-1)!.error).toMatch(/--reload-cmd "date \+%N; exit 1" failed/);
  });
});
