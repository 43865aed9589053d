import { BlockList, isIP } from "node:net";
// An address as an error repeats it: clipped (a 100 KB BERTH_ADDR is not echoed whole).
import { clip } from "./text/quote.js";

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
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) throw new AddressError(clip(input), "no scheme: give HOST:PORT alone, without http:// or https://");
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
  if (!host) throw new AddressError(clip(input), "no host");
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new AddressError(clip(input), "bad characters in host");
  if (portStr === "") throw new AddressError(clip(input), "no port after the colon");
  // Digits only: Number() would take "0x1f", " 1" or "1e3"; a path after the port ("7420/") is not a port either.
  const port = portStr === undefined ? defaultPort : /^\d{1,5}$/.test(portStr) ? Number(portStr) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new AddressError(clip(input), `port ${JSON.stringify(portStr?.slice(0, 16))} is not a number 0–65535`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Made on first use, not at load: the CLI's start-up snapshot holds no native object. */
let thisMachine: BlockList | undefined;
function thisMachineList(): BlockList {
  if (!thisMachine) {
    thisMachine = new BlockList();
    thisMachine.addSubnet("127.0.0.0", 8, "ipv4");
    thisMachine.addAddress("0.0.0.0", "ipv4");
    thisMachine.addAddress("::1", "ipv6");
    thisMachine.addAddress("::", "ipv6");
  }
  return thisMachine;
}

/**
 * Whether an address (or a comma-separated list of members) names only this machine:
 * loopback, "localhost", or the unspecified address — what another server cannot use
 * to reach it. An address that does not parse is not one.
 */
export function onlyThisMachine(list: string): boolean {
  const hosts = list.split(",").map((a) => {
    try {
      return parseHostPort(a).host.toLowerCase();
    } catch {
      return undefined;
    }
  });
  return (
    hosts.length > 0 &&
    hosts.every((h) => {
      if (h === undefined) return false;
      if (h === "localhost" || h.endsWith(".localhost")) return true;
      const v = isIP(h);
      if (v === 0) return false;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
      return mapped ? thisMachineList().check(mapped[1]!, "ipv4") : thisMachineList().check(h, v === 4 ? "ipv4" : "ipv6");
    })
  );
}
