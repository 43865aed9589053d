// The daemons set V8 flags of their own (the controller's heap growth, the agent's
// baseline compiler); an operator who names the same flag, or its --no- form, on node's
// command line or in NODE_OPTIONS keeps theirs.
import { describe, expect, it } from "vitest";
import { AGENT_V8_FLAGS, CONTROLLER_V8_FLAGS, ownV8Flags } from "../../../cli/run/daemons.js";

describe("ownV8Flags", () => {
  it("sets the daemon's flags when nobody named them", () => {
    expect(ownV8Flags(AGENT_V8_FLAGS, ["--max-old-space-size=512", ""])).toEqual(["--always-sparkplug"]);
    expect(ownV8Flags(CONTROLLER_V8_FLAGS, [])).toEqual(["--heap-growing-percent=50"]);
  });

  it("leaves a flag the operator named, with another value, in its --no- form, or with underscores", () => {
    expect(ownV8Flags(AGENT_V8_FLAGS, ["--no-always-sparkplug"])).toEqual([]);
    expect(ownV8Flags(AGENT_V8_FLAGS, ["--always_sparkplug"])).toEqual([]);
    expect(ownV8Flags(CONTROLLER_V8_FLAGS, ["--heap-growing-percent=100"])).toEqual([]);
    expect(ownV8Flags(CONTROLLER_V8_FLAGS, ["--heap_growing_percent=100"])).toEqual([]);
  });
});
