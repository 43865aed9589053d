/**
 * How `berth audit` shows the refusals of callers nobody identified: the
 * controller sums them per source address and minute (count > 0), so one row
 * reads "N refused calls from ADDR (reason) between T1 and T2", and its
 * REQUEST cell says which methods were tried, and how often.
 */
export function refusalAuditCells(e: { count: number; request: string; error: string }): { outcome: string; request: string } | undefined {
  if (!e.count) return undefined;
  let methods: Record<string, unknown> = {};
  try {
    const r = JSON.parse(e.request) as { methods?: unknown };
    if (r.methods && typeof r.methods === "object") methods = r.methods as Record<string, unknown>;
  } catch {
    // cut short by the log's size bound: the outcome still says it all
  }
  const request = Object.entries(methods)
    .filter((m): m is [string, number] => typeof m[1] === "number")
    .sort((a, b) => b[1] - a[1])
    .map(([m, n]) => `${m} ×${n}`)
    .join(", ");
  return { outcome: e.error, request };
}
