import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { isStoreUnavailable, noMemberError, toCliError, type Api } from "../../../cli/client.js";
import { EXIT } from "../../../cli/errors.js";
import { toStatus } from "../../../controller/member/api/errors.js";
import { EtcdUnavailableError } from "../../../controller/store/etcd-store.js";

/** What a member answers when its store does not: the status the operator API sends. */
const answer = (): grpc.ServiceError => {
  const s = toStatus(new EtcdUnavailableError(["10.0.0.1:2379"], "did not answer a read within 5000 ms; last error", { cause: new Error("request timed out") }));
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: new grpc.Metadata() });
};

describe("a member that cannot reach its store", () => {
  it("answers UNAVAILABLE saying so, not an internal error", () => {
    const s = toStatus(new EtcdUnavailableError(["10.0.0.1:2379"], "did not answer a read within 5000 ms; last error", { cause: new Error("request timed out") }));
    expect(s).toEqual({ code: grpc.status.UNAVAILABLE, details: "this controller cannot reach its store: etcd at 10.0.0.1:2379 did not answer a read within 5000 ms; last error: request timed out", internal: false });
  });

  it("is told from a lost connection by the CLI, and shown with where to look", () => {
    expect(isStoreUnavailable(answer())).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error("x"), { code: grpc.status.UNAVAILABLE, details: "No connection established" }))).toBe(false);
    const e = toCliError(answer(), "10.0.0.5:7420");
    expect(e.exitCode).toBe(EXIT.unavailable);
    expect(e.message).toMatch(/^10\.0\.0\.5:7420: this controller cannot reach its store: etcd at /);
    expect(e.hint).toBe("`berth controllers` shows which members reach the store");
  });

  it("says more than 'cannot reach any member' when every member was asked", () => {
    const api = { members: ["a:7420", "b:7420"] } as unknown as Api;
    const refused = Object.assign(new Error("down"), { code: grpc.status.UNAVAILABLE, details: "No connection established. Last error: connect ECONNREFUSED" });
    const e = noMemberError(api, [{ member: "a:7420", err: refused }, { member: "b:7420", err: answer() }]);
    expect(e.message).toMatch(/^b:7420: this controller cannot reach its store/);
  });
});

describe("an address that is not a controller's API", () => {
  it("a TLS server without HTTP/2 (the web console's port) is named as such, not as a CA problem", () => {
    const err = Object.assign(new Error("x"), { code: grpc.status.UNAVAILABLE, details: "No connection established. Last error: Error: C0A7E0D8F57F0000:error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol" });
    const e = toCliError(err, "127.0.0.1:7421");
    expect(e.message).toBe("127.0.0.1:7421 speaks TLS but not gRPC: it is not a controller's API port");
    expect(e.hint).toMatch(/web console and metrics have ports of their own/);
  });

  it("a plain TCP or HTTP port (a service's, the metrics port) is named as such, with none of OpenSSL's text", () => {
    const details = "No connection established. Last error: Error: 80CC2C1F3A7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ";
    const e = toCliError(Object.assign(new Error("x"), { code: grpc.status.UNAVAILABLE, details }), "127.0.0.1:9464");
    expect(e.message).toBe("127.0.0.1:9464 does not speak TLS: it is not a controller's API port");
    expect(e.hint).toMatch(/metrics port serves plain HTTP/);
  });
});
