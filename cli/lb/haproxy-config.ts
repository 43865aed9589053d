/**
 * HAProxy's config file, pure: the backend's `server` lines replaced by the servers
 * in service, so a restart of HAProxy comes up with what the runtime API was told.
 * Everything else in the file is kept byte for byte.
 */
import type { Server } from "./servers.js";
import { hostPort } from "./servers.js";

/** Keywords that open a section: the backend's section ends at the next one. */
const SECTION = /^(global|defaults|frontend|backend|listen|peers|resolvers|userlist|program|http-errors|ring|mailers|cache)(\s|$)/;
const MARK = "# servers below are written by berth lb";

export class HaproxyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HaproxyConfigError";
  }
}

export function renderHaproxyConfig(text: string, backend: string, servers: readonly Server[], o: { service: string; serverOptions?: string }): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => {
    const m = /^\s*(backend|listen)\s+(\S+)/.exec(l);
    return m !== null && m[2] === backend;
  });
  if (start < 0) throw new HaproxyConfigError(`no "backend ${backend}" section in the config`);
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (SECTION.test(lines[i]!.trimStart()) && !/^\s/.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  const body = lines.slice(start + 1, end).filter((l) => !/^\s*server\s/.test(l) && !l.includes(MARK));
  // Blank lines closing the section stay after our lines, where they were.
  let tail = body.length;
  while (tail > 0 && body[tail - 1]!.trim() === "") tail--;
  const indent = /^(\s+)\S/.exec(body.find((l) => /^\s+\S/.test(l)) ?? "")?.[1] ?? "    ";
  const opts = o.serverOptions?.trim() ? ` ${o.serverOptions.trim()}` : "";
  const ours = [`${indent}${MARK} (service ${o.service}); edits here are overwritten`, ...servers.map((s) => `${indent}server ${s.name} ${hostPort(s)}${opts}`)];
  return [...lines.slice(0, start + 1), ...body.slice(0, tail), ...ours, ...body.slice(tail), ...lines.slice(end)].join("\n");
}
