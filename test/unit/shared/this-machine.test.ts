import { describe, expect, it } from "vitest";
import { onlyThisMachine } from "../../../shared/addr.js";

describe("onlyThisMachine: an address another server cannot use to reach this one", () => {
  it("is loopback, localhost or the unspecified address, in any spelling", () => {
    for (const a of ["127.0.0.1:7420", "127.1.2.3", "localhost:7420", "LOCALHOST", "api.localhost:1", "[::1]:7420", "0.0.0.0:7420", "[::]:7420", "[::ffff:127.0.0.1]:7420", "[0:0:0:0:0:0:0:1]:7420", "127.0.0.1:7420,localhost:7421"]) {
      expect(onlyThisMachine(a), a).toBe(true);
    }
  });
  it("is not a routable address, a name, a list with one, or something that does not parse", () => {
    for (const a of ["10.0.0.5:7420", "localhost.example.com:7420", "[::10]:7420", "[fe80::1]:7420", "ctl.internal:7420", "127.0.0.1:7420,10.0.0.5:7420", "", "a b:1", "[::1:5]:7420"]) {
      expect(onlyThisMachine(a), a).toBe(false);
    }
  });
});
