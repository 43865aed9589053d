/**
 * nginx's upstream file, pure: one `upstream` block with the servers in service,
 * for an `include` in the http block. Written whole on every change.
 */
import type { Server } from "./servers.js";
import { hostPort } from "./servers.js";

export function renderUpstream(o: { upstream: string; service: string; servers: readonly Server[]; serverOptions?: string; version: string }): string {
  const opts = o.serverOptions?.trim() ? ` ${o.serverOptions.trim()}` : "";
  const lines = o.servers.map((s) => `    server ${hostPort(s)}${opts}; # ${s.name}`);
  // nginx refuses an upstream without servers; one that is down makes nginx answer
  // 502 at once, which is the truth when no copy is in service.
  if (lines.length === 0) lines.push("    server 127.0.0.1:9 down; # no instance in service");
  return `# written by berth lb for service ${o.service} (endpoints ${o.version || "-"}); edits are overwritten
upstream ${o.upstream} {
${lines.join("\n")}
}
`;
}
