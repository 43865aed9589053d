import { describe, expect, it } from "vitest";
import { serviceEnv, DEFAULT_PATH, expandArgs, expandRefs, instanceEnv } from "../../../agent/supervisor/env.js";

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

describe("instanceEnv and expandArgs: ${NAME} from the instance's environment", () => {
  const berth = { BERTH_SERVICE: "web", BERTH_INSTANCE: "web-1", BERTH_EPOCH: "4", BERTH_VERSION: "2", BERTH_ADVERTISE_ADDR: "10.0.0.5" };

  it("expands run.env values from BERTH_*, then sets BERTH_* over them", () => {
    const env = instanceEnv({ LISTEN: "${BERTH_ADVERTISE_ADDR}:8080", ID: "${BERTH_SERVICE}/${BERTH_INSTANCE}@${BERTH_EPOCH}" }, berth);
    expect(env).toEqual({ LISTEN: "10.0.0.5:8080", ID: "web/web-1@4", ...berth });
  });

  it("expands run.args from run.env (expanded) and BERTH_*", () => {
    const env = instanceEnv({ LISTEN: "${BERTH_ADVERTISE_ADDR}:8080" }, berth);
    expect(expandArgs(["--listen", "${LISTEN}", "--tag=v${BERTH_VERSION}"], env)).toEqual(["--listen", "10.0.0.5:8080", "--tag=v2"]);
  });

  it("keeps $$ as $, and a $ not before { or $ as it is, so sh -c scripts still work", () => {
    expect(expandRefs("cost: $$5 and $${BERTH_SERVICE}", berth)).toBe("cost: $5 and ${BERTH_SERVICE}");
    expect(expandRefs('echo "$HOME $1 $" ${BERTH_SERVICE}', berth)).toBe('echo "$HOME $1 $" web');
  });

  it("leaves what apply would refuse as written (a spec stored before the check)", () => {
    expect(expandRefs("${NOPE}-${BERTH_SERVICE}", berth)).toBe("${NOPE}-web");
    expect(expandRefs("x ${BERTH_SERVICE", berth)).toBe("x ${BERTH_SERVICE");
    expect(expandRefs("${a-b}", berth)).toBe("${a-b}");
  });

  it("does not expand run.env values from one another", () => {
    expect(instanceEnv({ A: "1", B: "${A}" }, berth).B).toBe("${A}");
  });
});
