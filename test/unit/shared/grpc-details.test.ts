import { describe, expect, it } from "vitest";
import { connectionError, plainGrpcDetails } from "../../../shared/grpc-details.js";

describe("connectionError", () => {
  it("keeps grpc-js's last error, without the timestamp and the empty resolution note", () => {
    expect(connectionError("No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:17420 (2026-12-03T08:12:00.000Z). Resolution note: ")).toBe("connect ECONNREFUSED 127.0.0.1:17420");
    expect(connectionError("14 UNAVAILABLE: No connection established. Last error: connect EHOSTUNREACH 10.0.0.9:7420. Resolution note: ")).toBe("connect EHOSTUNREACH 10.0.0.9:7420");
  });

  it("leaves any other text as it is, on one line", () => {
    expect(connectionError("Deadline exceeded\n after 2s")).toBe("Deadline exceeded after 2s");
  });
});

describe("plainGrpcDetails", () => {
  it("says a deadline as a person would, and drops the status code's prefix", () => {
    expect(plainGrpcDetails("4 DEADLINE_EXCEEDED: Deadline exceeded after 1.000s,name resolution: 0.001s,Waiting for LB pick")).toBe("no answer within 1s");
    expect(plainGrpcDetails("Deadline exceeded after 0.475s,LB pick: 0.001s,remote_addr=10.0.0.3:12379")).toBe("no answer within 0.475s");
    expect(plainGrpcDetails("14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7421 (2026-12-03T08:12:00.000Z). Resolution note: ")).toBe("connect ECONNREFUSED 127.0.0.1:7421");
    expect(plainGrpcDetails("etcdserver: request timed out")).toBe("etcdserver: request timed out");
  });
});
