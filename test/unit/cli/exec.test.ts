import { describe, expect, it } from "vitest";
import { splitExecArgs } from "../../../cli/run/exec.js";
import { execAuditCells } from "../../../cli/exec-audit.js";
import { CliError } from "../../../cli/errors.js";

describe("berth exec: operands", () => {
  it("splits the host from the command at --", () => {
    expect(splitExecArgs(["3fa9", "sh", "-c", "exit 7"], 1, {})).toEqual({ host: "3fa9", command: ["sh", "-c", "exit 7"] });
    expect(splitExecArgs(["3fa9"], -1, { tty: true })).toEqual({ host: "3fa9", command: [] });
    expect(splitExecArgs(["3fa9", "/bin/sh"], 1, { tty: true })).toEqual({ host: "3fa9", command: ["/bin/sh"] });
    expect(splitExecArgs(["ls", "-la"], 0, { service: "web" })).toEqual({ host: "", command: ["ls", "-la"] });
    expect(splitExecArgs([], -1, { service: "web", tty: true })).toEqual({ host: "", command: [] });
  });

  it("refuses what it cannot read, with exit code 2", () => {
    const usage = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        expect((e as CliError).exitCode).toBe(2);
        return (e as CliError).message;
      }
      throw new Error("accepted");
    };
    expect(usage(() => splitExecArgs(["3fa9"], -1, {}))).toMatch(/no command/);
    expect(usage(() => splitExecArgs(["3fa9", "uptime"], -1, {}))).toMatch(/put the command after --: berth exec 3fa9 -- uptime/);
    expect(usage(() => splitExecArgs([], -1, {}))).toMatch(/no host/);
    expect(usage(() => splitExecArgs(["h", "ls"], 1, { service: "web" }))).toMatch(/not both/);
    expect(usage(() => splitExecArgs([], -1, { service: "web" }))).toMatch(/no command/);
  });
});

describe("berth audit: exec entries", () => {
  it("shows host, command, and the exit code with the duration", () => {
    const req = JSON.stringify({ session: 9, host: "3fa9", command: ["sh", "-c", "exit 7"], tty: false, exit_code: 7, duration_ms: 2500 });
    expect(execAuditCells({ method: "ExecEnd", request: req, code: 0, error: "" })).toEqual({ outcome: "exit 7 after 2s", request: "session=9 host=3fa9  sh -c 'exit 7'" });
    expect(execAuditCells({ method: "Exec", request: JSON.stringify({ host: "3fa9", command: [], tty: true }), code: 0, error: "" })).toEqual({ outcome: "started", request: "host=3fa9 tty  (shell)" });
    expect(execAuditCells({ method: "Exec", request: "{}", code: 7, error: "exec needs the admin role; the token has viewer" })?.outcome).toMatch(/admin role/);
    expect(execAuditCells({ method: "Cordon", request: "{}", code: 0, error: "" })).toBeUndefined();
  });
});
