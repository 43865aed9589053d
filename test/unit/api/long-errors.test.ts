/**
 * A refusal too long for the HTTP/2 trailers it travels in (~64 KB) never arrived:
 * the call hung to its deadline and took its channel with it. The controller now
 * sends the first errors and says how many more there were.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as grpc from "@grpc/grpc-js";
import { capDetails, MAX_DETAILS } from "../../../controller/member/api/errors.js";
import { startTestController, unaryP, type TestController } from "./controller.js";

describe("capDetails", () => {
  it("keeps whole lines within the bound and says how much was left out", () => {
    const text = Array.from({ length: 1000 }, (_, i) => `  f${i}.yaml: secrets.DB: no secret "never-set-${i}"`).join("\n");
    const capped = capDetails(text);
    expect(capped.length).toBeLessThan(MAX_DETAILS + 200);
    expect(capped.startsWith("  f0.yaml: secrets.DB")).toBe(true);
    expect(capped).toMatch(/\n… and \d+ more lines \(\d+ characters\) not shown: fix what is shown and try again$/);
    expect(capDetails("short")).toBe("short");
  });
});

describe("a refusal with thousands of errors over real gRPC", () => {
  let c: TestController;
  beforeAll(async () => {
    c = await startTestController();
  });
  afterAll(() => c.close());

  it("arrives, cut to the first errors, and the channel still answers the next call", async () => {
    const op = c.client(c.tokens.operator);
    const files = Array.from({ length: 600 }, (_, i) => ({
      file: `svc-${i}.yaml`,
      content: `name: svc-${i}\nrun:\n  command: /bin/true\nsecrets: { DB_PASSWORD: never-set-${i} }\n`,
      artifact_sha256: "",
    }));
    const err = await unaryP(op, "Plan", { files, prune: false }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err, "Plan must be refused").toBeDefined();
    expect(err!.code).not.toBe(4); // DEADLINE_EXCEEDED: the trailers never came
    expect(err!.details).toMatch(/never-set-0/);
    expect(err!.details).toMatch(/more lines .* not shown/);
    expect(await unaryP(op, "ListServices", {})).toBeDefined();
  });
});
