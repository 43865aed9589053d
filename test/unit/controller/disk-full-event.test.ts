// When a host's data dir counts as full (an event host.disk-full), and when it has room again:
// below 64 MiB free, and back only above twice that, so a disk hovering at the line is one event.
import { describe, expect, it } from "vitest";
import { DISK_FULL_BYTES, diskFullNow } from "../../../shared/disk-full.js";
import { formatBytes } from "../../../shared/text/bytes.js";

const MiB = 1024 ** 2;
const u = (freeMiB: number) => ({ disk_total_bytes: 1000 * MiB, disk_used_bytes: (1000 - freeMiB) * MiB });

describe("diskFullNow", () => {
  it("is full below 64 MiB free, and has room again only above 128 MiB", () => {
    expect(DISK_FULL_BYTES).toBe(64 * MiB);
    expect(diskFullNow(u(500), false)).toBe(false);
    expect(diskFullNow(u(63), false)).toBe(true);
    expect(diskFullNow(u(100), true)).toBe(true);
    expect(diskFullNow(u(129), true)).toBe(false);
    expect(diskFullNow(u(100), false)).toBe(false);
  });

  it("says nothing when the usage has no disk", () => {
    expect(diskFullNow({ disk_total_bytes: 0, disk_used_bytes: 0 }, false)).toBeUndefined();
  });
});

describe("formatBytes", () => {
  it("reads as people write sizes", () => {
    expect([0, 512, 1536, 20 * MiB, 3.2 * 1024 * MiB].map(formatBytes)).toEqual(["0B", "512B", "1.5KiB", "20MiB", "3.2GiB"]);
  });
});
