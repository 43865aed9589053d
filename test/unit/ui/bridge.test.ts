import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CallError, ConsoleBridge } from "../../../controller/ui/bridge.js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";

const who = { token: "t", peer: "console:127.0.0.1:1" };

describe("the console's bridge to the operator API", () => {
  it("hands a handler its request as a gRPC client's would arrive, defaults filled in", async () => {
    const seen: unknown[] = [];
    const handlers: Partial<OperatorServiceHandlers> = {
      ListEvents(call, cb) {
        seen.push(call.request);
        cb(null, {});
      },
    };
    await new ConsoleBridge(handlers).unary("ListEvents", { limit: 5 }, who);
    expect(seen).toEqual([{ limit: 5, host: "", service: "" }]);
  });

  it("gives the page the generated __Output shape: every field present, int64 as a number", async () => {
    const handlers: Partial<OperatorServiceHandlers> = {
      GetHost(_call, cb) {
        cb(null, { id: "h1", last_heartbeat_ms: "1700000000000" });
      },
    };
    const host = await new ConsoleBridge(handlers).unary("GetHost", { id: "h1" }, who);
    expect(host.id).toBe("h1");
    expect(host.cordoned).toBe(false);
    expect(host.labels).toEqual({});
    expect(host.facts).toBeNull();
    expect(host.last_heartbeat_ms).toBe(1_700_000_000_000);
  });

  it("passes a handler's status through, and reports an answer its method cannot encode as INTERNAL", async () => {
    const handlers: Partial<OperatorServiceHandlers> = {
      GetHost(call, cb) {
        if (call.request.id === "gone") return cb({ code: grpc.status.NOT_FOUND, details: "no host gone" });
        // A number where the message has a message: what the method's codec cannot encode.
        cb(null, { id: "x", facts: 5 as unknown as null });
      },
    };
    const api = new ConsoleBridge(handlers);
    await expect(api.unary("GetHost", { id: "gone" }, who)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: "no host gone" });
    const bad = await api.unary("GetHost", { id: "x" }, who).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CallError);
    expect((bad as CallError).code).toBe(grpc.status.INTERNAL);
  });

  it("sends each streamed message through the codec too", async () => {
    const got: unknown[] = [];
    const handlers: Partial<OperatorServiceHandlers> = {
      WatchEvents(call) {
        call.write({ seq: 7, type: "host.up" });
        call.end();
      },
    };
    await new Promise<void>((resolve) => {
      new ConsoleBridge(handlers).stream("WatchEvents", { after_seq: 0 }, who, {
        data: (m) => got.push(m) > 0,
        end: () => resolve(),
      });
    });
    expect(got).toEqual([{ seq: 7, time_ms: 0, type: "host.up", host: "", service: "", message: "", actor: "" }]);
  });
});
