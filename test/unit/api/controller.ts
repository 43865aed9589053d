/**
 * A real controller in this process, on a loopback port and a temporary data
 * dir, with operator clients that hold a token of each role: for tests of the
 * gRPC surface (roles, audit, connection bounds) that need no agents.
 */
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startController, type ControllerHandle, type ControllerOptions } from "../../../controller/server.js";
import { loadProtos } from "../../../shared/proto.js";
import { channelOptions, grpcClientCredentials } from "../../../shared/tls/pki.js";
import type { OperatorServiceClient } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { OperatorRole } from "../../../controller/auth/tokens.js";

export interface TestController {
  handle: ControllerHandle;
  dataDir: string;
  target: string;
  /** A client and the metadata carrying `token`. */
  client(token: string): { client: OperatorServiceClient; md: grpc.Metadata };
  /** A token of each operator role, and an lb token, made by the bootstrap admin. */
  tokens: Record<OperatorRole | "lb", string>;
  close(): Promise<void>;
}

export function unaryP<Req, Res>(c: { client: OperatorServiceClient; md: grpc.Metadata }, method: keyof OperatorServiceClient, req: Req): Promise<Res> {
  const fn = c.client[method] as unknown as (r: Req, md: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;
  return new Promise((resolve, reject) => fn.call(c.client, req, c.md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

export async function startTestController(opts: Partial<ControllerOptions> = {}): Promise<TestController> {
  const dataDir = await mkdtemp(join(tmpdir(), "berth-ctl-"));
  let handle: ControllerHandle;
  try {
    handle = await startController({ dataDir, listen: { host: "127.0.0.1", port: 0 }, logLevel: "silent", metricsAddr: null, ...opts });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const target = `127.0.0.1:${handle.address.port}`;
  const clients: OperatorServiceClient[] = [];
  const client = (token: string): { client: OperatorServiceClient; md: grpc.Metadata } => {
    const c = new (loadProtos().operator.berth.v1.OperatorService)(target, grpcClientCredentials(handle.caPem), channelOptions());
    clients.push(c);
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${token}`);
    return { client: c, md };
  };
  const close = async (): Promise<void> => {
    for (const c of clients) c.close();
    await handle.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const admin = client(handle.adminToken!);
    const mint = async (role: OperatorRole | "lb"): Promise<string> => (await unaryP<object, { token: string }>(admin, "CreateToken", { role, description: `test ${role}` })).token;
    const tokens = { viewer: await mint("viewer"), operator: await mint("operator"), admin: handle.adminToken!, lb: await mint("lb") };
    return { handle, dataDir, target, client, tokens, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Calls `fn` until it stops failing for want of the host: the registry follows the store,
 * so a host record written straight to the store is known a moment later (at most 10 s).
 */
export async function whenHostKnown<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline || !/not found|no host/i.test(String(e))) throw e;
      await new Promise<void>((r) => setTimeout(r, 20));
    }
  }
}
