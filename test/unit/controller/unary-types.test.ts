// What a unary operator handler returns is checked against the proto's response type at
// compile time (`npm test` runs tsc over the tests first): a field of the wrong type, and a
// field the message does not have — which protobufjs would drop without a word. Each
// expected error below fails the type check if the mistake under it is ever let through.
import { describe, expect, it } from "vitest";
import { unary, type CoreHandlers, type OperatorServiceDeps } from "../../../controller/member/api/operator-service.js";

const d = {} as OperatorServiceDeps;

describe("a unary operator handler's response", () => {
  it("is the method's response message, field by field, and no field besides", () => {
    const handlers: Pick<CoreHandlers, "WhoAmI"> = {
      WhoAmI: unary(d, "viewer", "WhoAmI", async (_req, who) => ({ token_id: who.tokenId, role: who.role })),
    };
    const wrongType: Pick<CoreHandlers, "WhoAmI"> = {
      // @ts-expect-error token_id is a string in WhoAmIResponse
      WhoAmI: unary(d, "viewer", "WhoAmI", async () => ({ token_id: 5 })),
    };
    const misspelt: Pick<CoreHandlers, "WhoAmI"> = {
      // @ts-expect-error WhoAmIResponse has no field "rolez"
      WhoAmI: unary(d, "viewer", "WhoAmI", async (_req, who) => ({ token_id: who.tokenId, rolez: who.role })),
    };
    expect([handlers, wrongType, misspelt].map((h) => typeof h.WhoAmI)).toEqual(["function", "function", "function"]);
  });
});
