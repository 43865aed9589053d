import { describe, expect, it } from "vitest";
import { validateExecChunk, validateExecExit, validateExecOutput, validateExecRequest, validateTerminalSize, ValidationError } from "../../../controller/member/api/validate.js";

const base = { host: "3fa9", service: "", instance: "", command: ["uptime"], tty: false, rows: 0, cols: 0, term: "" };

function problems(v: unknown): string {
  try {
    validateExecRequest(v);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).problems.join("\n");
  }
  throw new Error("accepted");
}

describe("exec validation at the controller's boundary", () => {
  it("accepts a command on a host, a shell with a terminal, and a service with an instance", () => {
    expect(validateExecRequest(base).command).toEqual(["uptime"]);
    expect(validateExecRequest({ ...base, command: [], tty: true, rows: 40, cols: 120, term: "xterm-256color" }).tty).toBe(true);
    // No command and no terminal: the host's shell on piped input (`echo uptime | berth exec -it h`, -t dropped).
    expect(validateExecRequest({ ...base, command: [] }).command).toEqual([]);
    expect(validateExecRequest({ ...base, host: "", service: "web", instance: "web-2" }).service).toBe("web");
  });

  it("names every field that is wrong", () => {
    expect(problems({ ...base, command: [""] })).toMatch(/start\.command\.0: must not be empty/);
    expect(problems({ ...base, host: "" })).toMatch(/start\.host: give a host/);
    expect(problems({ ...base, service: "web" })).toMatch(/start\.service: give a host or a service, not both/);
    expect(problems({ ...base, instance: "2" })).toMatch(/start\.instance: only with a service/);
    expect(problems({ ...base, command: ["a\0b"] })).toMatch(/start\.command\.0: must not contain NUL/);
    expect(problems({ ...base, command: ["x".repeat(200_000)] })).toMatch(/start\.command: \d+ bytes in all; at most 131072/);
    expect(problems({ ...base, command: Array.from({ length: 5000 }, () => "a") })).toMatch(/start\.command: at most 4096 arguments/);
    expect(problems({ ...base, tty: true, rows: 5000, cols: -1 })).toMatch(/start\.rows[\s\S]*start\.cols/);
    expect(problems({ ...base, tty: true, term: "xterm; rm -rf /" })).toMatch(/start\.term: must be a terminal name/);
    expect(problems({ ...base, host: "h".repeat(300) })).toMatch(/start\.host/);
  });

  it("bounds resizes, chunks and what agents send back", () => {
    expect(validateTerminalSize({ rows: 40, cols: 120 })).toEqual({ rows: 40, cols: 120 });
    expect(() => validateTerminalSize({ rows: 0, cols: 80 })).toThrow(/resize\.rows/);
    expect(() => validateTerminalSize({ rows: 24, cols: 100_000 })).toThrow(/resize\.cols/);
    expect(validateExecChunk(Buffer.from("hi"), "stdin").toString()).toBe("hi");
    expect(() => validateExecChunk(Buffer.alloc(65 * 1024), "stdin")).toThrow(/stdin: larger than 65536 bytes/);
    expect(() => validateExecOutput({ session_id: 1, data: Buffer.alloc(70_000), stderr: false, ack: 0 })).toThrow(/exec_output\.data/);
    expect(validateExecExit({ session_id: 1, code: 7, signal: "", error: "" }).code).toBe(7);
    expect(() => validateExecExit({ session_id: 1, code: 300, signal: "", error: "" })).toThrow(/exec_exit\.code/);
    expect(() => validateExecExit({ session_id: 1, code: 0, signal: "", error: "e".repeat(5000) })).toThrow(/exec_exit\.error/);
  });
});
