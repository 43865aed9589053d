// Host facts: what the agent tells the controller about its machine at start (and
// on FactsCache refreshes). Every fact is optional: real hosts differ, VMs and
// containers hide hardware, and one tool missing or hanging must cost only its
// own fields. The shape mapping lives in pure exported functions that take
// `unknown`, so they can be tested with fixtures of any platform's quirks.

import os from "node:os";
import si from "systeminformation";
import type { Disk } from "../../shared/gen/berth/v1/Disk.js";
import type { Filesystem } from "../../shared/gen/berth/v1/Filesystem.js";
import type { HostFacts } from "../../shared/gen/berth/v1/HostFacts.js";
import type { NetInterface } from "../../shared/gen/berth/v1/NetInterface.js";
import { bool, compact, count, isRecord, nonNegative, positive, records, text } from "./narrow.js";
import type { Rec } from "./narrow.js";
import { within } from "./within.js";

export const DEFAULT_FACT_TIMEOUT_MS = 5_000;

/** The systeminformation calls collectFacts makes, in the order it reports them. */
export const FACT_CALLS = [
  "osInfo",
  "cpu",
  "mem",
  "blockDevices",
  "diskLayout",
  "fsSize",
  "networkInterfaces",
  "system",
] as const;
export type FactCall = (typeof FACT_CALLS)[number];

/** The facts node:os can give without spawning anything: the fallback layer. */
export interface NodeOsSnapshot {
  hostname: string;
  release: string;
  arch: string;
  cpuCount: number;
  cpuModel: string | undefined;
  totalmem: number;
  /** os.networkInterfaces(): name → addresses. */
  interfaces: unknown;
}

/** Where facts come from. Injectable so tests can make calls fail or hang. */
export type FactsSource = { [K in FactCall]: () => Promise<unknown> } & {
  nodeOs: () => NodeOsSnapshot;
};

export function readNodeOs(): NodeOsSnapshot {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    release: os.release(),
    arch: os.arch(),
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model,
    totalmem: os.totalmem(),
    interfaces: os.networkInterfaces(),
  };
}

export const systeminformationSource: FactsSource = {
  osInfo: () => si.osInfo(),
  cpu: () => si.cpu(),
  mem: () => si.mem(),
  blockDevices: () => si.blockDevices(),
  diskLayout: () => si.diskLayout(),
  fsSize: () => si.fsSize(),
  networkInterfaces: () => si.networkInterfaces(),
  system: () => si.system(),
  nodeOs: readNodeOs,
};

export interface CollectOptions {
  agentVersion: string;
  /** Per-call bound; a call that takes longer leaves its fields empty. */
  timeoutMs?: number;
  /** Told about each call that failed or timed out (for a debug log). */
  onMissing?: (call: FactCall, reason: unknown) => void;
}

export function collectFacts(opts: CollectOptions): Promise<HostFacts> {
  return collectFactsFrom(systeminformationSource, opts);
}

/** collectFacts over any source. Never rejects on a source failure. */
export async function collectFactsFrom(source: FactsSource, opts: CollectOptions): Promise<HostFacts> {
  const ms = opts.timeoutMs ?? DEFAULT_FACT_TIMEOUT_MS;
  const call = async (name: FactCall): Promise<unknown> => {
    const out = await within(() => source[name](), ms);
    if (out.ok) return out.value;
    opts.onMissing?.(name, out.reason);
    return undefined;
  };
  // All at once: total time is the slowest call, not the sum.
  const [osInfo, cpu, mem, blockDevices, diskLayout, fsSize, networkInterfaces, system] = await Promise.all(
    FACT_CALLS.map(call),
  );

  let nodeOs: NodeOsSnapshot | undefined;
  try {
    nodeOs = source.nodeOs();
  } catch {
    // node:os is the last resort; if even it throws, those facts stay empty.
    nodeOs = undefined;
  }

  return {
    // Fallback first, so any fact systeminformation did deliver overrides it.
    ...(nodeOs ? mapNodeOs(nodeOs) : {}),
    ...mapOsInfo(osInfo),
    ...mapCpu(cpu),
    ...mapMemory(mem),
    ...mapSystem(system),
    disks: mapDisks(blockDevices, diskLayout),
    filesystems: mapFilesystems(fsSize),
    interfaces: mapInterfaces(networkInterfaces, nodeOs?.interfaces),
    agent_version: opts.agentVersion,
  };
}

// ---- pure mappers: systeminformation shapes → HostFacts --------------------

export function mapNodeOs(s: NodeOsSnapshot): HostFacts {
  return compact({
    hostname: text(s.hostname),
    kernel: text(s.release),
    arch: text(s.arch),
    cpu_model: text(s.cpuModel),
    cpu_cores: count(s.cpuCount),
    memory_total_bytes: positive(s.totalmem),
  });
}

/** si.osInfo() */
export function mapOsInfo(u: unknown): HostFacts {
  if (!isRecord(u)) return {};
  return compact({
    hostname: text(u.hostname),
    os_distro: text(u.distro),
    os_release: text(u.release),
    kernel: text(u.kernel),
    arch: text(u.arch),
  });
}

/** si.cpu() */
export function mapCpu(u: unknown): HostFacts {
  if (!isRecord(u)) return {};
  const speed = positive(u.speed);
  return compact({
    cpu_model: cpuModel(text(u.manufacturer), text(u.brand)),
    cpu_cores: count(u.cores),
    cpu_physical_cores: count(u.physicalCores),
    // The proto says 0 when the host does not say (VMs often report 0 MHz).
    cpu_speed_ghz: speed ?? 0,
  });
}

function cpuModel(manufacturer: string | undefined, brand: string | undefined): string | undefined {
  if (manufacturer === undefined) return brand;
  if (brand === undefined) return manufacturer;
  // Some platforms already put the vendor in brand ("AMD Ryzen …"); don't say it twice.
  return brand.toLowerCase().startsWith(manufacturer.toLowerCase()) ? brand : `${manufacturer} ${brand}`;
}

/** si.mem() */
export function mapMemory(u: unknown): HostFacts {
  if (!isRecord(u)) return {};
  return compact({ memory_total_bytes: positive(u.total) });
}

// Values firmware and si put in DMI fields when they know nothing; "Computer" is
// si's own default. Reporting them would only look like information.
const PLACEHOLDERS = new Set([
  "computer",
  "-",
  "default string",
  "to be filled by o.e.m.",
  "o.e.m.",
  "system manufacturer",
  "system product name",
  "not specified",
  "not applicable",
  "none",
]);

function dmiText(v: unknown): string | undefined {
  const t = text(v);
  return t !== undefined && PLACEHOLDERS.has(t.toLowerCase()) ? undefined : t;
}

/** si.system() */
export function mapSystem(u: unknown): HostFacts {
  if (!isRecord(u)) return {};
  const virtual = bool(u.virtual);
  return compact({
    virtual,
    // Only meaningful on a VM (the proto says so); si may leave it empty even then.
    hypervisor: virtual === true ? text(u.virtualHost) : undefined,
    system_vendor: dmiText(u.manufacturer),
    system_model: dmiText(u.model),
  });
}

/**
 * si.blockDevices(), enriched by si.diskLayout() when it has entries (it is empty
 * in most VMs, which expose no SMART/vendor data).
 *
 * Kept: disks and their partitions, RAID/LVM/crypt devices, optical drives with
 * media. Dropped: loop devices (snap images, not storage), RAM-backed ram/zram
 * devices, and anything of size 0 (empty card readers and CD drives, unconfigured
 * zram) because it holds nothing.
 */
export function mapDisks(blockDevices: unknown, diskLayout: unknown): Disk[] {
  const layout = new Map<string, Rec>();
  for (const d of records(diskLayout)) {
    const dev = text(d.device);
    if (dev !== undefined) layout.set(dev, d);
  }

  const out: Disk[] = [];
  const used = new Set<string>();
  for (const b of records(blockDevices)) {
    const name = text(b.name);
    const size = positive(b.size);
    const type = text(b.type)?.toLowerCase();
    if (name === undefined || size === undefined) continue;
    if (type === "loop" || /^(loop|ram|zram)\d/.test(name)) continue;
    // Match on the device's own path, not b.device: si sets that to the parent
    // disk for partitions, which would give every partition the disk's model.
    const key = [`/dev/${name}`, name].find((k) => layout.has(k));
    const l = key === undefined ? undefined : layout.get(key);
    if (key !== undefined) used.add(key);
    out.push(
      compact({
        name,
        type,
        size_bytes: size,
        model: text(b.model) ?? text(l?.name) ?? text(l?.vendor),
        removable: bool(b.removable),
      }),
    );
  }

  // Disks only diskLayout knows (blockDevices failed or the platform lists
  // differently): report them rather than lose them.
  for (const [dev, l] of layout) {
    if (used.has(dev)) continue;
    const size = positive(l.size);
    if (size === undefined) continue;
    out.push(
      compact({
        name: dev.replace(/^\/dev\//, ""),
        type: "disk",
        size_bytes: size,
        model: text(l.name) ?? text(l.vendor),
      }),
    );
  }
  return out;
}

// Filesystems that hold no persistent data of their own: kernel interfaces,
// RAM-backed mounts, and read-only squashfs images (snaps, always 100 % full).
const PSEUDO_FS = new Set([
  "tmpfs",
  "devtmpfs",
  "ramfs",
  "proc",
  "sysfs",
  "cgroup",
  "cgroup2",
  "devpts",
  "devfs",
  "udev",
  "securityfs",
  "debugfs",
  "tracefs",
  "pstore",
  "bpf",
  "mqueue",
  "hugetlbfs",
  "configfs",
  "fusectl",
  "autofs",
  "binfmt_misc",
  "efivarfs",
  "nsfs",
  "rpc_pipefs",
  "squashfs",
  "fuse.lxcfs",
  "fuse.gvfsd-fuse",
  "fuse.portal",
]);

/** Whether a mount is a pseudo filesystem that filesystems facts should leave out. */
export function isPseudoFilesystem(fsType: string, mount: string): boolean {
  const t = fsType.toLowerCase();
  if (PSEUDO_FS.has(t)) return true;
  // A container's root is an overlay and is where its data lives: keep it. Other
  // overlays are per-container views (docker's …/merged) of a disk already listed.
  if (t === "overlay" || t === "aufs") return mount !== "/";
  return false;
}

/**
 * si.fsSize(). Real filesystems only (see isPseudoFilesystem), size > 0, one
 * entry per mount point. Bind mounts and btrfs subvolumes of one device can still
 * appear under several mounts with the same size: consumers must not sum sizes.
 */
export function mapFilesystems(u: unknown): Filesystem[] {
  const out: Filesystem[] = [];
  const seen = new Set<string>();
  for (const f of records(u)) {
    const mount = text(f.mount);
    const size = positive(f.size);
    const type = text(f.type);
    if (mount === undefined || size === undefined || seen.has(mount)) continue;
    if (type !== undefined && isPseudoFilesystem(type, mount)) continue;
    seen.add(mount);
    out.push(compact({ mount, fs_type: type, size_bytes: size, used_bytes: nonNegative(f.used) }));
  }
  return out;
}

interface OsIface {
  addresses: string[];
  mac: string | undefined;
  internal: boolean | undefined;
}

function osInterfaces(u: unknown): Map<string, OsIface> {
  const out = new Map<string, OsIface>();
  if (!isRecord(u)) return out;
  for (const [name, list] of Object.entries(u)) {
    const addrs = records(list);
    out.set(name, {
      addresses: addrs.map((a) => text(a.address)).filter((a): a is string => a !== undefined),
      mac: addrs.map((a) => text(a.mac)).find((m) => m !== undefined),
      internal: addrs.map((a) => bool(a.internal)).find((b) => b !== undefined),
    });
  }
  return out;
}

/**
 * si.networkInterfaces(), with addresses merged from os.networkInterfaces():
 * si reports only one ip4 and one ip6 per interface, node:os reports them all.
 * Interfaces only node:os knows (si failed) are reported from node:os alone.
 * IPv4 addresses come first.
 */
export function mapInterfaces(siIfaces: unknown, nodeOsIfaces?: unknown): NetInterface[] {
  const fromOs = osInterfaces(nodeOsIfaces);
  const out: NetInterface[] = [];
  const seen = new Set<string>();
  for (const i of records(siIfaces)) {
    const name = text(i.iface) ?? text(i.ifaceName);
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const o = fromOs.get(name);
    out.push(
      compact({
        name,
        mac: text(i.mac) ?? o?.mac,
        addresses: orderAddresses([text(i.ip4), text(i.ip6), ...(o?.addresses ?? [])]),
        internal: bool(i.internal) ?? o?.internal,
      }),
    );
  }
  for (const [name, o] of fromOs) {
    if (seen.has(name)) continue;
    out.push(compact({ name, mac: o.mac, addresses: orderAddresses(o.addresses), internal: o.internal }));
  }
  return out;
}

function orderAddresses(list: readonly (string | undefined)[]): string[] {
  const unique = [...new Set(list.filter((a): a is string => a !== undefined))];
  return [...unique.filter((a) => !a.includes(":")), ...unique.filter((a) => a.includes(":"))];
}
