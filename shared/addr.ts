/** HOST:PORT as given to --listen, --controller and --addr. */
export interface HostPort {
  host: string;
  port: number;
}

export class AddressError extends Error {
  constructor(input: string, why: string) {
    super(`invalid address "${input}": ${why} (expected HOST:PORT, e.g. 10.0.0.5:7420)`);
    this.name = "AddressError";
  }
}

export const DEFAULT_PORT = 7420;

export function parseHostPort(input: string, defaultPort = DEFAULT_PORT): HostPort {
  const s = input.trim();
  let host: string;
  let portStr: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2];
  } else {
    const parts = s.split(":");
    if (parts.length > 2) throw new AddressError(input, "IPv6 addresses go in brackets, [::1]:7420");
    host = parts[0]!;
    portStr = parts[1];
  }
  if (!host) throw new AddressError(input, "no host");
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new AddressError(input, "bad characters in host");
  const port = portStr === undefined ? defaultPort : Number(portStr);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AddressError(input, "port must be 0–65535");
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
