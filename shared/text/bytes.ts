/** A byte count as people read it: 0B, 512B, 1.5KiB, 20MiB, 3.2GiB (binary units, one decimal under 10). Pure. */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(n: number): string {
  let i = 0;
  let v = Math.max(0, n);
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)}${UNITS[i]}`;
}
