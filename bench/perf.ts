/**
 * `perf record` of the controller over the measurement window, summarised by layer.
 *
 * Why besides --cpu-prof: V8's profiler only sees the main thread while it runs
 * JS, and it labels the native I/O work of libuv's poll phase — TLS record
 * decryption, nghttp2 frame parsing, the kernel's socket work — "(idle)". Here
 * that is about half of the controller's CPU, so perf is the only view of all of it.
 * The node binary here links OpenSSL and nghttp2 statically with symbols, and the
 * controller runs with --perf-basic-prof-only-functions so JIT-compiled JS is named.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import { layerOf, type Share } from "./profile.js";

export function perfAvailable(): boolean {
  return spawnSync("perf", ["--version"], { stdio: "ignore" }).status === 0;
}

/** Samples `pid` for `seconds` at ~1 kHz (cpu-clock: works in VMs without a PMU). */
export function startPerfRecord(pid: number, seconds: number, outFile: string): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn("perf", ["record", "-F", "997", "-p", String(pid), "-o", outFile, "--", "sleep", String(seconds)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err = (err + c.toString("utf8")).slice(-2000)));
  const done = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      if (code !== 0) process.stderr.write(`[bench] perf record exited ${code}: ${err.trim()}\n`);
      resolve(code);
    }),
  );
  return { child, done };
}

const OPENSSL =
  /^(SSL_|ssl|tls|dtls|EVP_|evp_|ossl_|OSSL_|aesni_|aes_|AES_|gcm|GCM|CRYPTO_|OPENSSL_|ERR_|BIO_|bio_|ChaCha|chacha|Poly1305|poly1305|sha\d|SHA\d|x25519|ecp_|EC_|bn_|BN_|RAND_|rand_|ASN1_|asn1|X509|ctr_|cipher_|md_|HMAC|hmac|OBJ_|OPENSSL|CRYPTO|ENGINE_|EVP|lh_|OPENSSL_sk|sk_)/;
const V8_GC = /Scavenge|MarkCompact|MinorMark|Heap::|ConcurrentMarking|Sweeper|ArrayBufferSweeper|GCTracer|IncrementalMarking|Evacuat|MemoryAllocator|MarkingVisitor|MarkingBarrier|RememberedSet|SlotSet/;
const KERNEL_SCHED = /^(finish_task_switch|__schedule|schedule|_raw_spin_unlock_irqrestore|_raw_spin_unlock_irq|try_to_wake_up|__raw_callee_save___pv_queued_spin_unlock)/;
const LIBC_MALLOC = /malloc|free|_int_|unlink_chunk|consolidate|realloc|calloc|tcache|arena|sysmalloc|systrim/;

function categorise(dso: string, kind: string, sym: string): string {
  if (kind === "k" || dso.startsWith("[kernel")) {
    // In a VM sampled by cpu-clock, ticks that land while interrupts are off are
    // charged where they come back on: mostly the scheduler switching the thread in.
    return KERNEL_SCHED.test(sym) ? "kernel: wake-ups and scheduling" : "kernel: sockets, TCP over loopback, epoll, syscalls";
  }
  if (dso.startsWith("[JIT]") || /^perf-\d+\.map$/.test(dso)) {
    // --perf-basic-prof names: "JS:*fn /path/file.js:line:col" (or LazyCompile:/Function: on older V8).
    const path = /\s(\/\S+|node:\S+|file:\S+)/.exec(sym)?.[1];
    const layer = path ? layerOf(path.replace(/:\d+(:\d+)?$/, "")) : undefined;
    return `JS (JIT code): ${layer ?? (sym.startsWith("0x") ? "unnamed" : "other")}`;
  }
  if (dso === "node") {
    if (sym.startsWith("Builtins_")) return "V8 builtins (ICs, calls, promises, Map/Set, typed arrays)";
    if (V8_GC.test(sym)) return "V8 GC";
    if (/^nghttp2_|node::http2::/.test(sym)) return "HTTP/2 framing (nghttp2 + node::http2)";
    if (OPENSSL.test(sym) || sym.startsWith("node::crypto::")) return "TLS (OpenSSL + node::crypto)";
    if (/^uv_|^uv__/.test(sym)) return "libuv";
    if (sym.startsWith("v8::") || sym.startsWith("v8_")) return "V8 runtime (C++)";
    if (sym.startsWith("node::")) return "node C++ (stream wraps, handles, calls into JS)";
    return "node binary: other";
  }
  if (dso.startsWith("libc")) return LIBC_MALLOC.test(sym) ? "libc malloc/free" : "libc other (mem*, str*)";
  if (dso.startsWith("libstdc++")) return "libstdc++";
  return dso;
}

export interface PerfReport {
  samples: number;
  categories: Share[];
  top: Share[];
}

/** `perf report` of the recording, by layer and by symbol; `pct` is of all samples. */
export async function perfBreakdown(dataFile: string, controllerPid: number): Promise<PerfReport> {
  const r = spawnSync("perf", ["report", "-i", dataFile, "--stdio", "--no-children", "-g", "none", "-F", "overhead,sample,dso,sym", "-q", "--percent-limit", "0"], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  // The JIT symbol map the controller wrote for perf: ours to remove once read.
  await rm(`/tmp/perf-${controllerPid}.map`, { force: true });
  if (r.status !== 0) throw new Error(`perf report failed: ${r.stderr.trim().slice(-500)}`);
  const cats = new Map<string, number>();
  const syms = new Map<string, number>();
  let total = 0;
  // "    12.36%           268  [kernel.kallsyms]    [k] finish_task_switch.isra.0"
  const line = /^\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[(.)\]\s+(.*)$/;
  for (const l of r.stdout.split("\n")) {
    const m = line.exec(l);
    if (!m) continue;
    const [, n, dso, kind, sym] = m as unknown as [string, string, string, string, string];
    const count = Number(n);
    total += count;
    const cat = categorise(dso.trim(), kind, sym.trim());
    cats.set(cat, (cats.get(cat) ?? 0) + count);
    const name = `${sym.trim().slice(0, 110)}  [${dso.trim()}]`;
    syms.set(name, (syms.get(name) ?? 0) + count);
  }
  const share = (map: Map<string, number>, n: number): Share[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, c]) => ({ name, ms: c, pct: total > 0 ? (100 * c) / total : 0 }));
  return { samples: total, categories: share(cats, 30), top: share(syms, 30) };
}

export function formatPerf(r: PerfReport, controllerCpuPct: number): string {
  // Each share is also shown as % of one core, so the table adds up to the CPU figure above.
  const rows = (list: Share[]): string =>
    list.map((s) => `  ${s.pct.toFixed(1).padStart(5)} %  ≈${((s.pct * controllerCpuPct) / 100).toFixed(2).padStart(5)} % core  ${s.name}`).join("\n");
  return [
    `Controller perf profile (whole process, all threads, measurement window): ${r.samples} samples`,
    "By layer (self; % of samples, and that share of the controller's CPU):",
    rows(r.categories),
    "Top symbols:",
    rows(r.top),
    "  (JIT names come from the controller's perf map and can be stale where V8 freed code and reused its",
    "  address — e.g. asn1js, compiled during the joins; --cpu-prof is the reliable JS-level view.)",
  ].join("\n");
}
