/**
 * Which failures leave an etcd endpoint out of the shared client for a moment
 * (controller/store/endpoint-policy.ts endpointDown): the endpoint unreachable, never an
 * answer etcd gave, nor a slow answer on a working connection.
 */
import { describe, expect, it } from "vitest";
import { isTransient } from "../../../controller/store/etcd-store.js";
import { endpointDown } from "../../../controller/store/endpoint-policy.js";
import { BrokenCircuitError } from "cockatiel";

const grpcError = (code: number, message: string): Error => Object.assign(new Error(message), { code });

describe("endpointDown", () => {
  it("an endpoint refusing or never connected is down", () => {
    expect(endpointDown(grpcError(14, "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.2:2379"))).toBe(true);
    expect(endpointDown(grpcError(4, "4 DEADLINE_EXCEEDED: Deadline exceeded after 0.474s,name resolution: 0.001s,Waiting for LB pick"))).toBe(true);
  });

  it("etcd's own refusals and a slow answer on a working connection are not", () => {
    expect(endpointDown(grpcError(14, "14 UNAVAILABLE: etcdserver: leader changed"))).toBe(false);
    expect(endpointDown(grpcError(14, "14 UNAVAILABLE: etcdserver: request timed out"))).toBe(false);
    expect(endpointDown(grpcError(4, "4 DEADLINE_EXCEEDED: Deadline exceeded after 0.500s,LB pick: 0.001s,remote_addr=10.0.0.2:2379"))).toBe(false);
    expect(endpointDown(grpcError(9, "9 FAILED_PRECONDITION: etcdserver: requested lease not found"))).toBe(false);
  });

  it("every endpoint left out is a transient state: the call's retry waits and goes again", () => {
    expect(isTransient(new BrokenCircuitError())).toBe(true);
  });
});
