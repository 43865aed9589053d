import { describe, expect, it } from "vitest";
import { parseEventsQuery, parseHostAction, parseLogsQuery, parseRolloutAction, parseSignIn, UiInputError } from "../../../controller/ui/api-input.js";

const problems = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof UiInputError) return e.message;
    throw e;
  }
  throw new Error("expected a UiInputError");
};

describe("console API input", () => {
  it("takes a sign-in by token or by one-time code, not both, not neither", () => {
    expect(parseSignIn({ token: "bt1.a.b" })).toEqual({ token: "bt1.a.b" });
    expect(parseSignIn({ code: "A".repeat(43) })).toEqual({ code: "A".repeat(43) });
    expect(problems(() => parseSignIn({}))).toMatch(/token/);
    expect(problems(() => parseSignIn({ token: "a", code: "b" }))).toMatch(/not both/);
    expect(problems(() => parseSignIn({ token: "has space" }))).toMatch(/^token: /);
    expect(problems(() => parseSignIn({ token: "x".repeat(600) }))).toMatch(/^token: /);
    expect(problems(() => parseSignIn("nope"))).toMatch(/object/);
  });

  it("names the rollout action that is not one, as RolloutControl does", () => {
    expect(parseRolloutAction({ action: "pause" })).toEqual({ action: "pause" });
    expect(problems(() => parseRolloutAction({ action: "explode" }))).toMatch(/^action: must be one of restart, promote, pause, resume, undo/);
    expect(problems(() => parseRolloutAction({}))).toMatch(/^action: /);
  });

  it("allows only the three host actions", () => {
    expect(parseHostAction("drain")).toBe("drain");
    expect(problems(() => parseHostAction("delete"))).toMatch(/cordon, uncordon, drain/);
  });

  it("bounds the events query and reads numbers from the query string", () => {
    expect(parseEventsQuery(new URLSearchParams("limit=50&host=h1&type=host.down"))).toEqual({ limit: 50, host: "h1", service: "", type: "host.down", after_seq: 0 });
    expect(parseEventsQuery(new URLSearchParams(""))).toEqual({ limit: 200, host: "", service: "", type: "", after_seq: 0 });
    expect(problems(() => parseEventsQuery(new URLSearchParams("limit=-1")))).toMatch(/^limit: /);
    expect(problems(() => parseEventsQuery(new URLSearchParams("limit=abc")))).toMatch(/^limit: /);
    expect(problems(() => parseEventsQuery(new URLSearchParams(`host=${"h".repeat(300)}`)))).toMatch(/^host: /);
  });

  it("reads a logs query: a host of the service (or every host), and how many lines", () => {
    expect(parseLogsQuery("web", new URLSearchParams("host=h1&tail=20"))).toEqual({ service: "web", host: "h1", tail: 20 });
    expect(problems(() => parseLogsQuery("web", new URLSearchParams("tail=1000000")))).toMatch(/^tail: /);
    expect(problems(() => parseLogsQuery("", new URLSearchParams("")))).toMatch(/^service: /);
  });
});
