/**
 * Opens the Store a controller was told to use (`berth controller --store URL`): a
 * directory path is the embedded LevelDB store (the default, in the data dir), and
 * `etcd://host:port,host:port,…` is the etcd store, over TLS when given the files
 * (`--etcd-ca`, `--etcd-cert`, `--etcd-key`). Both fail before the controller listens,
 * each naming what it could not open and why.
 */
import { readFile } from "node:fs/promises";
import { AddressError, formatHostPort, parseHostPort } from "../../shared/addr.js";
import { openEtcdStore, type EtcdStoreOptions, type EtcdTlsFiles } from "./etcd-store.js";
import { openLevelStore } from "./level-store.js";
import type { Store } from "./store.js";

export type StoreLocation = { kind: "level"; dir: string } | { kind: "etcd"; endpoints: string[] };

export interface EtcdTlsPaths {
  /** --etcd-ca: the CA that signed the etcd members' certificates. */
  caFile?: string;
  /** --etcd-cert / --etcd-key: this controller's client certificate, for --client-cert-auth. */
  certFile?: string;
  keyFile?: string;
}

export interface OpenStoreOptions {
  etcdTls?: EtcdTlsPaths;
  /** Passed to the etcd store (its key prefix, deadlines). */
  etcd?: Partial<Omit<EtcdStoreOptions, "endpoints" | "tls">>;
}

/** The --store value or the etcd TLS flags are wrong as given. */
export class StoreConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreConfigError";
  }
}

const ETCD_SCHEME = "etcd://";
/** etcd's client port, when an endpoint names none. */
export const ETCD_DEFAULT_PORT = 2379;

/** Reads a --store value: `etcd://h:p,h:p` or a directory path. */
export function parseStoreLocation(url: string): StoreLocation {
  if (url === "") throw new StoreConfigError("--store: empty; give a directory or etcd://HOST:PORT,…");
  if (!url.startsWith(ETCD_SCHEME)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new StoreConfigError(`--store ${url}: unknown scheme; give a directory or etcd://HOST:PORT,…`);
    return { kind: "level", dir: url };
  }
  const list = url.slice(ETCD_SCHEME.length);
  const parts = list.split(",");
  const problems: string[] = [];
  const endpoints: string[] = [];
  parts.forEach((p, i) => {
    if (p === "" || p.includes("/")) {
      problems.push(`endpoint ${i + 1} ${JSON.stringify(p)}: expected HOST:PORT`);
      return;
    }
    try {
      const hp = parseHostPort(p, ETCD_DEFAULT_PORT);
      if (hp.port === 0) throw new AddressError(p, "port must be 1–65535");
      endpoints.push(formatHostPort(hp));
    } catch (e) {
      problems.push(`endpoint ${i + 1} ${JSON.stringify(p)}: ${e instanceof AddressError ? e.message : String(e)}`);
    }
  });
  if (problems.length > 0) throw new StoreConfigError(`--store ${url}: ${problems.join("; ")}`);
  if (new Set(endpoints).size !== endpoints.length) throw new StoreConfigError(`--store ${url}: an endpoint is named twice`);
  return { kind: "etcd", endpoints };
}

async function readTlsFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new StoreConfigError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, { cause: e });
  }
}

async function loadTls(paths: EtcdTlsPaths | undefined): Promise<EtcdTlsFiles | undefined> {
  const { caFile, certFile, keyFile } = paths ?? {};
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new StoreConfigError("--etcd-cert and --etcd-key go together: give both or neither");
  if (caFile === undefined) throw new StoreConfigError("--etcd-cert/--etcd-key need --etcd-ca (the CA that signed the etcd members' certificates)");
  const ca = await readTlsFile("--etcd-ca", caFile);
  if (certFile === undefined || keyFile === undefined) return { ca };
  return { ca, cert: await readTlsFile("--etcd-cert", certFile), key: await readTlsFile("--etcd-key", keyFile) };
}

/**
 * Opens the store at url. Rejects with StoreConfigError for a bad URL or TLS files,
 * EtcdUnavailableError when etcd does not answer (wrong address, down, TLS refused),
 * or the level store's own errors (StoreLockedError, StoreCorruptError).
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const where = parseStoreLocation(url);
  switch (where.kind) {
    case "level": {
      const { caFile, certFile, keyFile } = opts.etcdTls ?? {};
      if (caFile !== undefined || certFile !== undefined || keyFile !== undefined) {
        throw new StoreConfigError(`--etcd-ca/--etcd-cert/--etcd-key apply only to an etcd:// store, not to ${url}`);
      }
      return openLevelStore(where.dir);
    }
    case "etcd": {
      const tls = await loadTls(opts.etcdTls);
      return openEtcdStore({ ...opts.etcd, endpoints: where.endpoints, ...(tls ? { tls } : {}) });
    }
    default:
      return assertNever(where);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
