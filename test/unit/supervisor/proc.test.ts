import { describe, expect, it } from "vitest";
import { isLive, parsePasswd, parseProcStat, readProcStat, resolveUser, UnknownUserError } from "../../../agent/supervisor/proc.js";

// A real line (from `cat /proc/self/stat`), with a comm that has spaces and parentheses spliced in.
const STAT =
  "9657 (we (ird) name) R 9649 9649 7186 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 141711 3133440 413 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

describe("parseProcStat", () => {
  it("reads pid, state, ppid, pgid, sid and the start time (field 22), counting after the last ')'", () => {
    expect(parseProcStat(STAT)).toEqual({
      pid: 9657,
      comm: "we (ird) name",
      state: "R",
      ppid: 9649,
      pgid: 9649,
      sid: 7186,
      startTime: 141711,
    });
  });

  it("refuses truncated or garbled text", () => {
    expect(parseProcStat("")).toBeUndefined();
    expect(parseProcStat("12 (x) S 1 2")).toBeUndefined();
    expect(parseProcStat("abc (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20")).toBeUndefined();
  });

  it("treats zombies as not live, and reads this very process", () => {
    const zombie = parseProcStat(STAT.replace(") R ", ") Z "));
    expect(isLive(zombie)).toBe(false);
    const me = readProcStat(process.pid);
    expect(isLive(me)).toBe(true);
    expect(me?.pid).toBe(process.pid);
    expect(readProcStat(2 ** 22 + 7)).toBeUndefined();
  });
});

describe("users", () => {
  const passwd = [
    "root:x:0:0:root:/root:/bin/bash",
    "# a comment",
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    "",
  ].join("\n");

  it("finds a user by name or by numeric uid", () => {
    expect(parsePasswd(passwd, "www-data")).toEqual({ uid: 33, gid: 33, home: "/var/www" });
    expect(parsePasswd(passwd, "65534")).toEqual({ uid: 65534, gid: 65534, home: "/nonexistent" });
    expect(parsePasswd(passwd, "ghost")).toBeUndefined();
  });

  it("resolves a real user and names the missing one in a named error", () => {
    expect(resolveUser("root")).toMatchObject({ uid: 0, gid: 0 });
    expect(() => resolveUser("berth-no-such-user")).toThrow(UnknownUserError);
  });
});
