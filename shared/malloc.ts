/**
 * The controller's memory allocator.
 *
 * A controller holds one mutual-TLS HTTP/2 connection per agent, and most of what each costs is
 * native memory (OpenSSL's buffers, nghttp2's session) that glibc's malloc leaves fragmented:
 * at 5,000 agents glibc's heap was 92 KB an agent. jemalloc (Debian's `libjemalloc2`) holds the
 * same fleet in about a sixth less (docs/performance.md, "Memory per agent"), so the controller
 * runs on it where it is installed. Node cannot swap its allocator once running, so whoever
 * starts a controller preloads it: the `berth` bin (cli/launcher.sh, which lists the same
 * paths), `berth dev`, the test harness and the benchmarks, all through `controllerEnv`.
 *
 * BERTH_MALLOC chooses: unset or `auto` — jemalloc when one of JEMALLOC_PATHS exists, else
 * glibc's; `jemalloc` — jemalloc or an error; `glibc` — glibc's malloc, any jemalloc taken out
 * of LD_PRELOAD.
 * Agents keep glibc's: one connection each, where jemalloc's larger fixed cost would weigh more.
 */
import { existsSync, readFileSync } from "node:fs";

/** Node's process.arch → Debian's multiarch triplet's first part, as `uname -m` says it. */
const MACHINE: Partial<Record<string, string>> = { x64: "x86_64", arm64: "aarch64", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/**
 * Where jemalloc 5's library is for this machine: Debian's multiarch folder of its own
 * architecture (never another's: a multiarch host may have libjemalloc2 of both, and ld.so
 * ignores the wrong ELF class, silently), then RPM distributions' and a plain /usr/lib.
 */
export function jemallocPaths(arch: string = process.arch): string[] {
  const m = MACHINE[arch];
  return [...(m ? [`/usr/lib/${m}-linux-gnu/libjemalloc.so.2`] : []), "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2"];
}

export const JEMALLOC_PATHS: readonly string[] = jemallocPaths();

export const MALLOC_CHOICES = ["auto", "jemalloc", "glibc"] as const;
export type MallocChoice = (typeof MALLOC_CHOICES)[number];

/** The install command named when jemalloc is asked for and missing. */
export const JEMALLOC_INSTALL = "apt-get install libjemalloc2";

export class MallocError extends Error {}

/** BERTH_MALLOC, checked: a value outside MALLOC_CHOICES is an error naming them. */
export function mallocChoice(env: NodeJS.ProcessEnv): MallocChoice {
  const v = env.BERTH_MALLOC ?? "";
  if (v === "") return "auto";
  if ((MALLOC_CHOICES as readonly string[]).includes(v)) return v as MallocChoice;
  throw new MallocError(`BERTH_MALLOC=${v}: expected ${MALLOC_CHOICES.join(", ")}`);
}

/** The first of JEMALLOC_PATHS that exists, if any. */
export function findJemalloc(exists: (p: string) => boolean = existsSync): string | undefined {
  return JEMALLOC_PATHS.find((p) => exists(p));
}

/**
 * The environment to start a controller with: `env` with jemalloc put first in LD_PRELOAD when
 * BERTH_MALLOC allows and it is installed (and not preloaded already), else `env` as it is.
 * Throws MallocError for a bad BERTH_MALLOC, or `jemalloc` asked for and not installed.
 */
export function controllerEnv(env: NodeJS.ProcessEnv, exists: (p: string) => boolean = existsSync): NodeJS.ProcessEnv {
  const choice = mallocChoice(env);
  const preload = env.LD_PRELOAD ?? "";
  if (choice === "glibc") {
    // glibc's malloc: no jemalloc preloaded, whoever put one there (a shell, a bench preloading its simulators).
    const parts = preload.split(/[: ]+/).filter(Boolean);
    const kept = parts.filter((p) => !p.includes("libjemalloc"));
    if (kept.length === parts.length) return env;
    const { LD_PRELOAD: _gone, ...rest } = env;
    return kept.length ? { ...rest, LD_PRELOAD: kept.join(":") } : rest;
  }
  if (preload.includes("libjemalloc")) return env;
  const lib = findJemalloc(exists);
  if (!lib) {
    if (choice === "jemalloc") throw new MallocError(`BERTH_MALLOC=jemalloc, but jemalloc is not installed (looked for ${JEMALLOC_PATHS.join(", ")}): ${JEMALLOC_INSTALL}`);
    return env;
  }
  return { ...env, LD_PRELOAD: preload === "" ? lib : `${lib}:${preload}` };
}

/** Which malloc this process runs on, from its own memory map. */
export function allocatorInUse(maps?: () => string): "jemalloc" | "glibc" {
  // This process's own: read once (its metrics registry and its start-up log both ask), as it cannot change.
  if (!maps) return (own ??= allocatorInUse(() => readFileSync("/proc/self/maps", "utf8")));
  try {
    return maps().includes("libjemalloc") ? "jemalloc" : "glibc";
  } catch {
    return "glibc";
  }
}

let own: "jemalloc" | "glibc" | undefined;
