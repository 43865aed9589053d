/**
 * What one connection costs the controller's gRPC server. Channelz (grpc-js's
 * introspection, which berth never serves) keeps a socket record, a trace and call
 * counters for every connection and call: about a fifth of what an agent's
 * connection costs the controller in memory. The server is made without it.
 */
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { newGrpcServer } from "../../../controller/member/grpc-server.js";

describe("the member's gRPC server", () => {
  it("keeps no channelz records (no per-connection socket, trace or call tracker)", async () => {
    const server = newGrpcServer({}, []);
    try {
      await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
      const { GetServers } = grpc.getChannelzHandlers();
      const listed = await new Promise<number[]>((resolve, reject) =>
        GetServers({ request: { start_server_id: 0, max_results: 1000 } } as unknown as Parameters<typeof GetServers>[0], (err, res) => (err ? reject(err) : resolve((res?.server ?? []).map((s) => Number(s.ref?.server_id))))),
      );
      const ours = Number((server as unknown as { getChannelzRef(): { id: number } }).getChannelzRef().id);
      expect(listed).not.toContain(ours);
    } finally {
      server.forceShutdown();
    }
  });
});
