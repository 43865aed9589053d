import type { Command } from "commander";
import { resolveClientConfig } from "../config.js";
import { connect, type Api } from "../client.js";
import { markCallsOver } from "../calls-over.js";

export interface GlobalOpts {
  addr?: string;
  debug?: boolean;
}

/** The flags of the command being run merged with the program's (--addr, --debug). */
export function globalsOf(cmd: Command): GlobalOpts {
  // The command's own flags win over the same given before it (`berth --addr A hosts --addr B`: B).
  return { ...cmd.optsWithGlobals<GlobalOpts>(), ...cmd.opts<GlobalOpts>() };
}

/** Resolves the config, opens a client, runs fn, closes the client. */
export async function withApi<T>(g: GlobalOpts, fn: (api: Api) => Promise<T>): Promise<T> {
  const api = connect(await resolveClientConfig({ addr: g.addr }));
  try {
    return await fn(api);
  } finally {
    api.close();
    markCallsOver();
  }
}
