import { describe, expect, it } from "vitest";
import { connectionError } from "../../../shared/grpc-details.js";

describe("connectionError", () => {
  it("keeps grpc-js's last error, without the timestamp and the empty resolution note", () => {
    expect(connectionError("No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:17420 (2026-12-03T08:12:00.000Z). Resolution note: ")).toBe("connect ECONNREFUSED 127.0.0.1:17420");
    expect(connectionError("14 UNAVAILABLE: No connection established. Last error: connect EHOSTUNREACH 10.0.0.9:7420. Resolution note: ")).toBe("connect EHOSTUNREACH 10.0.0.9:7420");
  });

  it("leaves any other text as it is, on one line", () => {
    expect(connectionError("Deadline exceeded\n after 2s")).toBe("Deadline exceeded after 2s");
  });
});
