/**
 * grpc-js words a failed connection as "No connection established. Last error: Error:
 * connect ECONNREFUSED 10.0.0.1:7420 (2026-12-03T08:12:00.000Z). Resolution note: ": the
 * last error is the news, the rest is noise in a message meant for people. Pure.
 */
export function connectionError(details: string): string {
  const last = /Last error: (?:Error: )?([\s\S]*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\. Resolution note:/.exec(details);
  return (last?.[1] ?? details).replace(/\s+/g, " ").trim();
}
