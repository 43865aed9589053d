import { describe, expect, it } from "vitest";
import {
  isPseudoFilesystem,
  mapCpu,
  mapDisks,
  mapFilesystems,
  mapInterfaces,
  mapMemory,
  mapNodeOs,
  mapOsInfo,
  mapSystem,
} from "../../../agent/facts/facts.js";
import * as fx from "./fixtures/si.js";

// Inputs that must never throw and never produce a fact.
const garbage: unknown[] = [undefined, null, 0, "", "text", [], [null], true];

describe("mapOsInfo", () => {
  it("maps a VM's osInfo", () => {
    expect(mapOsInfo(fx.kvmOsInfo)).toStrictEqual({
      hostname: "vm",
      os_distro: "Debian GNU/Linux",
      os_release: "12",
      kernel: "6.18.44-fc-v669",
      arch: "x64",
    });
  });

  it("leaves out empty, null and mistyped fields", () => {
    expect(mapOsInfo({ hostname: "  ", distro: null, release: 12, kernel: "6.1", arch: undefined })).toStrictEqual({
      kernel: "6.1",
    });
  });

  it.each(garbage)("returns {} for %j", (g) => {
    expect(mapOsInfo(g)).toStrictEqual({});
  });
});

describe("mapCpu", () => {
  it("joins manufacturer and brand; speed 0 on a VM that does not say", () => {
    expect(mapCpu(fx.kvmCpu)).toStrictEqual({
      cpu_model: "Intel Xeon® Processor",
      cpu_cores: 2,
      cpu_physical_cores: 2,
      cpu_speed_ghz: 0,
    });
  });

  it("maps bare metal with a real clock", () => {
    expect(mapCpu(fx.metalCpu)).toStrictEqual({
      cpu_model: "AMD EPYC 7443P 24-Core Processor",
      cpu_cores: 48,
      cpu_physical_cores: 24,
      cpu_speed_ghz: 2.85,
    });
  });

  it("does not repeat a manufacturer the brand already names", () => {
    expect(mapCpu({ manufacturer: "AMD", brand: "AMD Ryzen 7 5800X" }).cpu_model).toBe("AMD Ryzen 7 5800X");
  });

  it("uses whichever of manufacturer/brand exists", () => {
    expect(mapCpu({ brand: "Cortex-A72" }).cpu_model).toBe("Cortex-A72");
    expect(mapCpu({ manufacturer: "ARM", brand: "" }).cpu_model).toBe("ARM");
  });

  it("drops non-positive, fractional and NaN counts; unknown speed is 0", () => {
    expect(mapCpu({ cores: 0, physicalCores: 1.5, speed: Number.NaN })).toStrictEqual({ cpu_speed_ghz: 0 });
    expect(mapCpu({ cores: -4, speed: -1 })).toStrictEqual({ cpu_speed_ghz: 0 });
  });

  it.each(garbage)("returns {} for %j", (g) => {
    expect(mapCpu(g)).toStrictEqual({});
  });
});

describe("mapMemory", () => {
  it("takes total", () => {
    expect(mapMemory(fx.kvmMem)).toStrictEqual({ memory_total_bytes: 25276502016 });
  });

  it("ignores a zero or missing total", () => {
    expect(mapMemory({ total: 0 })).toStrictEqual({});
    expect(mapMemory({ free: 1 })).toStrictEqual({});
    expect(mapMemory(null)).toStrictEqual({});
  });
});

describe("mapSystem", () => {
  it("reports a VM with its hypervisor; empty vendor is left out", () => {
    expect(mapSystem(fx.kvmSystem)).toStrictEqual({
      virtual: true,
      hypervisor: "KVM",
      system_model: "Docker Container",
    });
  });

  it("reports bare metal without a hypervisor", () => {
    expect(mapSystem(fx.metalSystem)).toStrictEqual({
      virtual: false,
      system_vendor: "Dell Inc.",
      system_model: "PowerEdge R6515",
    });
  });

  it("ignores virtualHost when not virtual, and a VM may not name its hypervisor", () => {
    expect(mapSystem({ virtual: false, virtualHost: "KVM" })).toStrictEqual({ virtual: false });
    expect(mapSystem({ virtual: true })).toStrictEqual({ virtual: true });
    expect(mapSystem({ virtual: true, virtualHost: "" })).toStrictEqual({ virtual: true });
  });

  it("drops firmware and si placeholders", () => {
    expect(
      mapSystem({ manufacturer: "To Be Filled By O.E.M.", model: "Computer", virtual: "yes" }),
    ).toStrictEqual({});
    expect(mapSystem({ manufacturer: "System manufacturer", model: "System Product Name" })).toStrictEqual({});
  });

  it.each(garbage)("returns {} for %j", (g) => {
    expect(mapSystem(g)).toStrictEqual({});
  });
});

describe("mapDisks", () => {
  it("VM: keeps the real disk, drops a zero-sized zram; diskLayout is empty", () => {
    expect(mapDisks(fx.kvmBlockDevices, fx.kvmDiskLayout)).toStrictEqual([
      { name: "vda", type: "disk", size_bytes: 274877906944, removable: false },
    ]);
  });

  it("bare metal: disks, partitions and RAID kept; loop and empty rom dropped; diskLayout enriches", () => {
    expect(mapDisks(fx.metalBlockDevices, fx.metalDiskLayout)).toStrictEqual([
      { name: "nvme0n1", type: "disk", size_bytes: 1920383410176, model: "Dell Ent NVMe v2 AGN RI U.2 1.92TB", removable: false },
      // si gives partitions their disk's device path; they must not inherit its model.
      { name: "nvme0n1p1", type: "part", size_bytes: 536870912, removable: false },
      { name: "nvme0n1p2", type: "part", size_bytes: 1919845449728, removable: false },
      { name: "sda", type: "disk", size_bytes: 30765219840, model: "Ultra Fit", removable: true },
      { name: "md0", type: "raid1", size_bytes: 3840000000000, removable: false },
      // Only diskLayout knew it: reported with the vendor as its model.
      { name: "sdb", type: "disk", size_bytes: 4000787030016, model: "Seagate" },
    ]);
  });

  it("works from diskLayout alone when blockDevices failed", () => {
    expect(mapDisks(undefined, fx.metalDiskLayout).map((d) => d.name)).toStrictEqual(["nvme0n1", "sda", "sdb"]);
  });

  it("skips entries without a name or size, and ram devices", () => {
    expect(
      mapDisks(
        [
          { type: "disk", size: 10 },
          { name: "vdb", type: "disk", size: Number.NaN },
          { name: "vdc", type: "disk" },
          { name: "ram0", type: "disk", size: 4194304 },
          { name: "vdd", size: 10 },
        ],
        null,
      ),
    ).toStrictEqual([{ name: "vdd", size_bytes: 10 }]);
  });

  it.each(garbage)("returns [] for %j", (g) => {
    expect(mapDisks(g, g)).toStrictEqual([]);
  });
});

describe("mapFilesystems", () => {
  it("VM: the root filesystem", () => {
    expect(mapFilesystems(fx.kvmFsSize)).toStrictEqual([
      { mount: "/", fs_type: "ext4", size_bytes: 270553174016, used_bytes: 23437025280 },
    ]);
  });

  it("bare metal: real and network filesystems kept; squashfs, tmpfs and docker overlays dropped", () => {
    expect(mapFilesystems(fx.metalFsSize).map((f) => f.mount)).toStrictEqual(["/", "/boot/efi", "/data", "/mnt/nas"]);
  });

  it("keeps a container's overlay root", () => {
    expect(mapFilesystems([{ fs: "overlay", type: "overlay", size: 100, used: 5, mount: "/" }])).toStrictEqual([
      { mount: "/", fs_type: "overlay", size_bytes: 100, used_bytes: 5 },
    ]);
  });

  it("keeps used 0, drops size 0, missing mount and repeated mounts", () => {
    expect(
      mapFilesystems([
        { type: "xfs", size: 100, used: 0, mount: "/data" },
        { type: "xfs", size: 100, used: 50, mount: "/data" },
        { type: "ext4", size: 0, used: 0, mount: "/empty" },
        { type: "ext4", size: 10, used: 1 },
        { size: 10, used: null, mount: "/untyped" },
      ]),
    ).toStrictEqual([
      { mount: "/data", fs_type: "xfs", size_bytes: 100, used_bytes: 0 },
      { mount: "/untyped", size_bytes: 10 },
    ]);
  });

  it("classifies pseudo filesystems", () => {
    expect(isPseudoFilesystem("tmpfs", "/run")).toBe(true);
    expect(isPseudoFilesystem("SquashFS", "/snap/x/1")).toBe(true);
    expect(isPseudoFilesystem("overlay", "/var/lib/docker/overlay2/x/merged")).toBe(true);
    expect(isPseudoFilesystem("overlay", "/")).toBe(false);
    expect(isPseudoFilesystem("ext4", "/")).toBe(false);
    expect(isPseudoFilesystem("nfs4", "/mnt/nas")).toBe(false);
  });

  it.each(garbage)("returns [] for %j", (g) => {
    expect(mapFilesystems(g)).toStrictEqual([]);
  });
});

describe("mapInterfaces", () => {
  it("merges si's single ip4/ip6 with every address node:os knows, IPv4 first", () => {
    expect(mapInterfaces(fx.kvmNetworkInterfaces, fx.kvmNodeOsInterfaces)).toStrictEqual([
      { name: "lo", mac: "00:00:00:00:00:00", addresses: ["127.0.0.1", "::1"], internal: true },
      {
        name: "eth0",
        mac: "02:fc:00:00:00:01",
        addresses: ["192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1"],
        internal: false,
      },
    ]);
  });

  it("uses si alone when node:os has nothing", () => {
    expect(mapInterfaces(fx.kvmNetworkInterfaces)).toStrictEqual([
      { name: "lo", mac: "00:00:00:00:00:00", addresses: ["127.0.0.1", "::1"], internal: true },
      { name: "eth0", mac: "02:fc:00:00:00:01", addresses: ["192.0.2.2", "fd00::2"], internal: false },
    ]);
  });

  it("falls back to node:os when si failed", () => {
    expect(mapInterfaces(undefined, fx.kvmNodeOsInterfaces).map((i) => [i.name, i.addresses?.length])).toStrictEqual([
      ["lo", 2],
      ["eth0", 3],
    ]);
  });

  it("keeps an interface without addresses (down) with an empty list", () => {
    expect(mapInterfaces([{ iface: "eth1", ip4: "", ip6: "", mac: "", internal: false }])).toStrictEqual([
      { name: "eth1", addresses: [], internal: false },
    ]);
  });

  it("skips nameless entries and duplicates", () => {
    expect(mapInterfaces([{ ip4: "10.0.0.1" }, { iface: "a" }, { iface: "a", ip4: "10.0.0.2" }])).toStrictEqual([
      { name: "a", addresses: [] },
    ]);
  });

  it.each(garbage)("returns [] for %j", (g) => {
    expect(mapInterfaces(g, g)).toStrictEqual([]);
  });
});

describe("mapNodeOs", () => {
  it("maps the node:os fallback", () => {
    expect(
      mapNodeOs({
        hostname: "vm",
        release: "6.1.0",
        arch: "arm64",
        cpuCount: 4,
        cpuModel: "Neoverse-N1",
        totalmem: 8e9,
        interfaces: {},
      }),
    ).toStrictEqual({
      hostname: "vm",
      kernel: "6.1.0",
      arch: "arm64",
      cpu_model: "Neoverse-N1",
      cpu_cores: 4,
      memory_total_bytes: 8e9,
    });
  });

  it("leaves out what node:os could not tell (os.cpus() is [] on some platforms)", () => {
    expect(
      mapNodeOs({ hostname: "", release: "", arch: "x64", cpuCount: 0, cpuModel: undefined, totalmem: 0, interfaces: null }),
    ).toStrictEqual({ arch: "x64" });
  });
});
