import { describe, expect, it } from "vitest";
import { serviceEnv, DEFAULT_PATH } from "../../../agent/supervisor/env.js";

describe("serviceEnv", () => {
  it("gives PATH, HOME and LANG from the agent, then the given env over them — and nothing else of the agent's", () => {
    const agent = { PATH: "/opt/bin:/usr/bin", HOME: "/root", LANG: "de_DE.UTF-8", SECRET: "agent-only" };
    expect(serviceEnv(agent, { LANG: "C", BERTH_EPOCH: "4" }, "/var/www")).toEqual({
      PATH: "/opt/bin:/usr/bin",
      HOME: "/var/www",
      LANG: "C",
      BERTH_EPOCH: "4",
    });
    expect(serviceEnv({}, {}, undefined)).toEqual({ PATH: DEFAULT_PATH, HOME: "/", LANG: "C.UTF-8" });
  });
});
