/**
 * Every OperatorService RPC enforces the role its proto comment declares: the
 * role just below it is refused with PERMISSION_DENIED, the declared role is
 * let through (to whatever the empty request earns). The RPCs are enumerated
 * from the loaded service definition, so a new RPC without a declared role, or
 * with a check that disagrees with its comment, fails here.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProtos } from "../../../shared/proto.js";
import type { OperatorRole } from "../../../controller/auth/tokens.js";
import { startTestController, unaryP, type TestController } from "./controller.js";
import { until } from "../until.js";

const PROTO = new URL("../../../proto/berth/v1/operator.proto", import.meta.url);

/** rpc name → the role written after `//` on its line ("any valid token" is viewer, the least). */
export function declaredRoles(protoText: string): Map<string, OperatorRole | undefined> {
  const out = new Map<string, OperatorRole | undefined>();
  for (const m of protoText.matchAll(/^\s*rpc\s+(\w+)\s*\(.*$/gm)) {
    const comment = /\/\/\s*(viewer|operator|admin|any valid token)\b/.exec(m[0]);
    out.set(m[1]!, comment ? (comment[1] === "any valid token" ? "viewer" : (comment[1] as OperatorRole)) : undefined);
  }
  return out;
}

const BELOW: Record<OperatorRole, OperatorRole | undefined> = { viewer: undefined, operator: "viewer", admin: "operator" };

type Outcome = grpc.status | "ok";

/** Calls `method` with an empty request (Exec: an empty start) and says how it ended. */
function callAny(client: grpc.Client, def: grpc.MethodDefinition<object, object>, md: grpc.Metadata): Promise<Outcome> {
  const opts = { deadline: Date.now() + 10_000 };
  return new Promise((resolve) => {
    const settle = (err: grpc.ServiceError | null): void => resolve(err ? err.code : "ok");
    const req = def.path.endsWith("/Exec") ? { start: {} } : {};
    if (!def.requestStream && !def.responseStream) {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, md, opts, (err) => settle(err));
    } else if (def.requestStream && !def.responseStream) {
      const s = client.makeClientStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, md, opts, (err) => settle(err));
      s.end();
    } else {
      const s = def.requestStream
        ? client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, md, opts)
        : client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, req, md, opts);
      if (def.requestStream) (s as grpc.ClientDuplexStream<object, object>).write(req);
      // A first message means the call was let through: that is all we ask.
      s.on("data", () => {
        resolve("ok");
        s.cancel();
      });
      s.on("error", (err: grpc.ServiceError) => settle(err));
      s.on("end", () => resolve("ok"));
    }
  });
}

describe("operator RPC roles", () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await startTestController();
  });
  afterAll(async () => {
    await ctl?.close();
  });

  const service = loadProtos().operator.berth.v1.OperatorService.service as unknown as Record<string, grpc.MethodDefinition<object, object>>;
  const roles = declaredRoles(readFileSync(PROTO, "utf8"));

  it("every RPC of the service declares its role in operator.proto", () => {
    const undeclared = Object.keys(service).filter((name) => !roles.get(name));
    expect(undeclared, "RPCs without a `// viewer|operator|admin` comment on their line").toEqual([]);
  });

  it.each(Object.keys(service))("%s: the role below the declared one is refused, the declared one is not", async (name) => {
    const need = roles.get(name);
    expect(need, `${name} declares no role`).toBeDefined();
    const def = service[name]!;
    const below = BELOW[need!];
    if (below) {
      const c = ctl.client(ctl.tokens[below]);
      expect(await callAny(c.client as unknown as grpc.Client, def, c.md), `${name} with a ${below} token`).toBe(grpc.status.PERMISSION_DENIED);
    }
    const c = ctl.client(ctl.tokens[need!]);
    const servedBefore = ctl.handle.caFingerprint;
    const got = await callAny(c.client as unknown as grpc.Client, def, c.md);
    expect([grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED], `${name} with a ${need} token`).not.toContain(got);
    // A CA rotation with no host to wait for retires the old CA at once: the clients of the tests after this one trust the new CA.
    if (name === "RotateCa") await until(() => ctl.handle.caFingerprint !== servedBefore, "the controller to serve the new CA's certificate");
  });

  it.each(Object.keys(service))("%s: an lb token is let through only where the proto says lb", async (name) => {
    const line = readFileSync(PROTO, "utf8").split("\n").find((l) => new RegExp(`^\\s*rpc\\s+${name}\\s*\\(`).test(l)) ?? "";
    const c = ctl.client(ctl.tokens.lb);
    const got = await callAny(c.client as unknown as grpc.Client, service[name]!, c.md);
    if (/\/\/.*\blb\b/.test(line)) expect(got, `${name} with an lb token`).not.toBe(grpc.status.PERMISSION_DENIED);
    else expect(got, `${name} with an lb token`).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("HasArtifact is refused to a viewer", async () => {
    const c = ctl.client(ctl.tokens.viewer);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => c.client.HasArtifact({ sha256: "0".repeat(64) }, c.md, (e) => resolve(e)));
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("HasArtifact only reads: an operator's answered call is not audited, a viewer's refusal is", async () => {
    const op = ctl.client(ctl.tokens.operator);
    await unaryP(op, "HasArtifact", { sha256: "1".repeat(64) });
    const viewer = ctl.client(ctl.tokens.viewer);
    await expect(unaryP(viewer, "HasArtifact", { sha256: "2".repeat(64) })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const admin = ctl.client(ctl.tokens.admin);
    // Audit appends are not awaited by the call: poll for the refusal's entry.
    const deadline = Date.now() + 5_000;
    let has: { code: number }[] = [];
    while (Date.now() < deadline) {
      const res = await unaryP<object, { entries: { method: string; code: number }[] }>(admin, "ListAudit", { limit: 1000 });
      has = res.entries.filter((e) => e.method === "HasArtifact");
      if (has.some((e) => e.code === grpc.status.PERMISSION_DENIED)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Earlier tests here refuse HasArtifact too; none of its answered calls may be there.
    expect(has.some((e) => e.code === grpc.status.PERMISSION_DENIED)).toBe(true);
    expect(has.filter((e) => e.code === grpc.status.OK)).toEqual([]);
  });
});
