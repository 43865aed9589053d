// The agent process's last line of defence (agent/crash.ts), in a real process:
// an unhandled rejection is logged and the process goes on; an uncaught
// exception is logged, followed by a clean stop and exit 70.
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "crash-child.ts");

function run(mode: string): Promise<{ code: number | null; lines: { msg?: string; level?: number; err?: { message?: string } }[] }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", child, mode], { timeout: 15_000 }, (err, stdout) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ code, lines: stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { msg?: string }) });
    });
  });
}

describe("the agent's crash guard", () => {
  it("logs an unhandled rejection and keeps running", async () => {
    const r = await run("reject");
    expect(r.code).toBe(0);
    const logged = r.lines.find((l) => /unhandled promise rejection/.test(l.msg ?? ""));
    expect(logged?.level).toBe(50);
    expect(logged?.err?.message).toBe("boom");
    expect(r.lines.at(-1)?.msg).toBe("still running");
  });

  it("logs an uncaught exception, stops cleanly and exits 70", async () => {
    const r = await run("throw");
    expect(r.code).toBe(70);
    // Two writers (pino's buffered stream, the stop's plain write): either order.
    expect(r.lines).toHaveLength(2);
    expect(r.lines.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^uncaught exception/), "stopped cleanly"]));
    expect(r.lines.find((l) => l.level !== undefined)?.level).toBe(60);
  });
});
