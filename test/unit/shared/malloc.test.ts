import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allocatorInUse, controllerEnv, JEMALLOC_PATHS, jemallocPaths, mallocChoice } from "../../../shared/malloc.js";

const DEB = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const RPM = "/usr/lib64/libjemalloc.so.2";
const only = (...present: string[]) => (p: string) => present.includes(p);

describe("controllerEnv", () => {
  it("preloads the first jemalloc found, ahead of what LD_PRELOAD already holds", () => {
    expect(controllerEnv({ PATH: "/bin" }, only(DEB, RPM))).toEqual({ PATH: "/bin", LD_PRELOAD: DEB });
    expect(controllerEnv({}, only(RPM))).toEqual({ LD_PRELOAD: RPM });
    expect(controllerEnv({ LD_PRELOAD: "/opt/x.so", BERTH_MALLOC: "jemalloc" }, only(DEB))).toEqual({ LD_PRELOAD: `${DEB}:/opt/x.so`, BERTH_MALLOC: "jemalloc" });
  });

  it("leaves the environment as it is for glibc, without jemalloc on auto, or with one preloaded already", () => {
    const env = { BERTH_MALLOC: "glibc" };
    expect(controllerEnv(env, only(DEB))).toBe(env);
    // glibc asked for: a jemalloc someone preloaded is taken out, other preloads kept.
    expect(controllerEnv({ BERTH_MALLOC: "glibc", LD_PRELOAD: `${DEB} /opt/x.so` }, only(DEB))).toEqual({ BERTH_MALLOC: "glibc", LD_PRELOAD: "/opt/x.so" });
    expect(controllerEnv({ BERTH_MALLOC: "glibc", LD_PRELOAD: RPM }, only(DEB))).toEqual({ BERTH_MALLOC: "glibc" });
    const none = { PATH: "/bin" };
    expect(controllerEnv(none, only())).toBe(none);
    const own = { LD_PRELOAD: "/opt/jemalloc/lib/libjemalloc.so.2" };
    expect(controllerEnv(own, only(DEB))).toBe(own);
  });

  it("refuses a BERTH_MALLOC it does not know, and jemalloc asked for but not installed, naming the fix", () => {
    expect(() => controllerEnv({ BERTH_MALLOC: "tcmalloc" }, only(DEB))).toThrow("BERTH_MALLOC=tcmalloc: expected auto, jemalloc, glibc");
    expect(() => controllerEnv({ BERTH_MALLOC: "jemalloc" }, only())).toThrow(/BERTH_MALLOC=jemalloc, but jemalloc is not installed \(looked for .*\): apt-get install libjemalloc2/);
    expect(mallocChoice({ BERTH_MALLOC: "" })).toBe("auto");
  });
});

describe("allocatorInUse", () => {
  it("reads the allocator from the process's memory map", () => {
    expect(allocatorInUse(() => `7f00-7f01 r-xp 00000000 08:01 12 ${DEB}\n`)).toBe("jemalloc");
    expect(allocatorInUse(() => "7f00-7f01 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/libc.so.6\n")).toBe("glibc");
    expect(
      allocatorInUse(() => {
        throw new Error("no /proc");
      }),
    ).toBe("glibc");
  });
});

describe("the bin's launcher", () => {
  it("looks for jemalloc in the same places, in the same order, as controllerEnv", () => {
    const sh = readFileSync(new URL("../../../cli/launcher.sh", import.meta.url), "utf8");
    const loop = /for lib in ([^;]+); do/.exec(sh);
    const machine = execFileSync("uname", ["-m"], { encoding: "utf8" }).trim();
    const paths = loop?.[1]?.replace("$(uname -m)", machine).replaceAll('"', "").trim().split(/\s+/);
    expect(paths).toEqual([...JEMALLOC_PATHS]);
  });
});

describe("jemallocPaths", () => {
  it("looks in this architecture's multiarch folder only, never another's", () => {
    expect(jemallocPaths("x64")).toEqual(["/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2"]);
    expect(jemallocPaths("arm64")[0]).toBe("/usr/lib/aarch64-linux-gnu/libjemalloc.so.2");
    expect(jemallocPaths("ia32")).toEqual(["/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2"]);
  });
});
