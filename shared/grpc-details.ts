/**
 * grpc-js words a failed connection as "No connection established. Last error: Error:
 * connect ECONNREFUSED 10.0.0.1:7420 (2026-12-03T08:12:00.000Z). Resolution note: ": the
 * last error is the news, the rest is noise in a message meant for people. Pure.
 */
export function connectionError(details: string): string {
  const last = /Last error: (?:Error: )?([\s\S]*?)(?: \(\d{4}-\d\d-\d\dT[^)]*\))?\. Resolution note:/.exec(details);
  return (last?.[1] ?? details).replace(/\s+/g, " ").trim();
}

/**
 * A gRPC error's details as a person reads them: a failed connection's last error
 * (connectionError), a deadline as "no answer within 1s" rather than grpc-js's
 * "Deadline exceeded after 1.000s,name resolution: 0.001s,Waiting for LB pick", and no
 * status-code prefix ("4 DEADLINE_EXCEEDED: "). Pure.
 */
export function plainGrpcDetails(details: string): string {
  const text = details.replace(/^\d+ [A-Z_]+: /, "");
  const deadline = /^Deadline exceeded after ([\d.]+)s/.exec(text);
  if (deadline) return `no answer within ${Number(deadline[1])}s`;
  return connectionError(text);
}
