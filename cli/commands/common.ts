import { resolveClientConfig } from "../config.js";
import { connect, type Api } from "../client.js";

export interface GlobalOpts {
  addr?: string;
  debug?: boolean;
}

/** Resolves the config, opens a client, runs fn, closes the client. */
export async function withApi<T>(g: GlobalOpts, fn: (api: Api) => Promise<T>): Promise<T> {
  const api = connect(await resolveClientConfig({ addr: g.addr }));
  try {
    return await fn(api);
  } finally {
    api.close();
  }
}
