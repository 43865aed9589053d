/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went, limited
 * to the measurement window: the profile also covers start-up and the joins
 * (CSR signing), which would drown out the steady state the bench is about.
 *
 * Window filtering works because V8 stamps samples with the same monotonic clock
 * (CLOCK_MONOTONIC, µs) that process.hrtime() reads in the bench process.
 */
import { readFile } from "node:fs/promises";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of the non-idle time in the window. */
  pct: number;
}

export interface ProfileReport {
  /** False when the window did not fall inside the profile: the whole profile was used. */
  windowApplied: boolean;
  wallMs: number;
  busyMs: number;
  categories: Share[];
  topSelf: Share[];
  topInclusive: Share[];
}

function isCpuProfile(v: unknown): v is CpuProfile {
  const p = v as Partial<CpuProfile> | null;
  return !!p && Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas) && typeof p.startTime === "number";
}

const PROTOBUF_GENERATED = /^[A-Za-z0-9_]+\$(decode|encode|toObject|fromObject|verify)$/;

const SPECIAL = new Set(["(root)", "(program)", "(idle)", "(garbage collector)"]);

/** Which layer a JS frame belongs to, from its script URL. */
export function layerOf(url: string): string | undefined {
  if (!url) return undefined;
  if (url.includes("/node_modules/@grpc/grpc-js/")) return "grpc-js";
  if (url.includes("/node_modules/protobufjs/") || url.includes("/node_modules/@protobufjs/") || url.includes("/node_modules/@grpc/proto-loader/")) {
    return "protobufjs (encode/decode)";
  }
  if (url.includes("/node_modules/zod/")) return "zod (validation)";
  if (url.includes("/node_modules/pino") || url.includes("/node_modules/sonic-boom/")) return "pino (logging)";
  if (/\/node_modules\/(classic-level|abstract-level|level|maybe-combine-errors|module-error)\//.test(url)) return "level (store)";
  if (url.includes("/node_modules/")) return `other npm: ${/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? "?"}`;
  if (url.startsWith("node:internal/http2") || url === "node:http2") return "node http2 (JS side)";
  if (url.startsWith("node:_tls") || url.startsWith("node:internal/tls") || url === "node:tls") return "node tls (JS side)";
  if (url.startsWith("node:internal/streams") || url.startsWith("node:internal/stream_base") || url === "node:stream") {
    return "node streams / socket writes";
  }
  if (url === "node:net") return "node net";
  if (url.startsWith("node:internal/timers") || url === "node:timers") return "node timers";
  if (url.startsWith("node:internal/process/task_queues") || url.startsWith("node:internal/async_hooks")) return "node microtasks/async";
  if (url.startsWith("node:internal/event_target") || url === "node:events" || url.startsWith("node:internal/events")) return "node events";
  if (url.startsWith("node:")) return "node core (other)";
  if (url.includes("/dist/controller/") || url.includes("/controller/")) return "berth controller";
  if (url.includes("/dist/shared/") || url.includes("/shared/")) return "berth shared";
  return "other JS";
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + "/node_modules/".length);
  const dist = url.lastIndexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, "");
}

function frameName(f: CallFrame): string {
  if (SPECIAL.has(f.functionName)) return f.functionName;
  const fn = f.functionName || "(anonymous)";
  return f.url ? `${fn} ${shortUrl(f.url)}:${f.lineNumber + 1}` : `${fn} (native)`;
}

function top(map: Map<string, number>, busyMs: number, n: number): Share[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, ms, pct: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
}

export async function analyzeProfile(path: string, window?: { startUs: number; endUs: number }): Promise<ProfileReport> {
  const raw: unknown = JSON.parse(await readFile(path, "utf8"));
  if (!isCpuProfile(raw)) throw new Error(`${path} is not a V8 cpuprofile`);
  const p = raw;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }

  // Sample i runs from its timestamp to the next one's (DevTools' convention).
  const stamps: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) {
    t += d;
    stamps.push(t);
  }
  const windowApplied = !!window && window.startUs >= p.startTime && window.endUs <= (stamps.at(-1) ?? p.endTime);
  const from = windowApplied && window ? window.startUs : -Infinity;
  const to = windowApplied && window ? window.endUs : Infinity;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const categories = new Map<string, number>();
  let wallMs = 0;
  let busyMs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const at = stamps[i] ?? 0;
    if (at < from || at >= to) continue;
    // timeDeltas are µs; everything below is kept in ms.
    const dur = Math.max(0, (stamps[i + 1] ?? at) - at) / 1000;
    wallMs += dur;
    const node = byId.get(p.samples[i] ?? -1);
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === "(idle)") continue;
    busyMs += dur;
    self.set(frameName(f), (self.get(frameName(f)) ?? 0) + dur);

    // Category: the frame's own layer; a native frame (no URL: a C++ builtin such as
    // a socket write or crypto call) is charged to the JS layer that called it.
    let cat: string;
    if (f.functionName === "(garbage collector)") cat = "GC";
    else if (f.functionName === "(program)") cat = "(program): native work outside JS — TLS records, nghttp2, libuv";
    else if (PROTOBUF_GENERATED.test(f.functionName)) {
      // protobufjs compiles per-type codecs with new Function(): they have no URL.
      cat = "protobufjs (encode/decode)";
    } else {
      let cur: ProfileNode | undefined = node;
      let layer = layerOf(cur.callFrame.url);
      while (!layer && cur) {
        const up = parent.get(cur.id);
        cur = up === undefined ? undefined : byId.get(up);
        layer = cur ? layerOf(cur.callFrame.url) : undefined;
      }
      cat = (layer ?? "native (no JS caller)") + (f.url ? "" : " [native callee]");
    }
    categories.set(cat, (categories.get(cat) ?? 0) + dur);

    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: ProfileNode | undefined = node; cur; ) {
      const name = frameName(cur.callFrame);
      if (!SPECIAL.has(cur.callFrame.functionName) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + dur);
      }
      const up = parent.get(cur.id);
      cur = up === undefined ? undefined : byId.get(up);
    }
  }
  return {
    windowApplied,
    wallMs,
    busyMs,
    categories: top(categories, busyMs, 30),
    topSelf: top(self, busyMs, 25),
    topInclusive: top(inclusive, busyMs, 40),
  };
}

export function formatProfile(r: ProfileReport): string {
  const rows = (list: Share[]): string => list.map((s) => `  ${s.pct.toFixed(1).padStart(5)} %  ${s.ms.toFixed(0).padStart(6)} ms  ${s.name}`).join("\n");
  return [
    `Controller CPU profile (${r.windowApplied ? "measurement window only" : "WHOLE run: the window did not fall inside the profile"}): ` +
      `${r.busyMs.toFixed(0)} ms busy of ${r.wallMs.toFixed(0)} ms sampled on the main thread`,
    "By layer (self time; % of busy):",
    rows(r.categories),
    "Top functions by self time:",
    rows(r.topSelf),
    "Top functions by inclusive time:",
    rows(r.topInclusive),
  ].join("\n");
}
