import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { toCliError } from "../../../cli/client.js";

/** A NOT_FOUND as the controller sends it, turned into the CLI's error. */
function hintFor(details: string): string | undefined {
  return toCliError({ code: grpc.status.NOT_FOUND, details }, "127.0.0.1:7070").hint;
}

describe("a NOT_FOUND's hint names the command that lists what was not found", () => {
  it("an unknown service points at `berth services`, not at the hosts", () => {
    expect(hintFor('no service "webb"; did you mean "web"?')).toBe("`berth services` lists the services");
    expect(hintFor("service web was deleted")).toBe("`berth services` lists the services");
  });
  it("an unknown or ambiguous host points at `berth hosts`", () => {
    expect(hintFor('no host "h9"')).toBe("`berth hosts` lists the hosts");
    expect(hintFor('"ab" matches more than one host: give more of the id')).toBe("`berth hosts` lists the hosts");
    expect(hintFor('hostname "n1" names 2 hosts (a, b): give a host id')).toBe("`berth hosts` lists the hosts");
  });
  it("an unknown instance points at `berth status NAME`", () => {
    expect(hintFor('no instance "web-3" of web (it has web-1)')).toBe("`berth status web` lists its instances");
  });
  it("an unknown secret points at `berth secret list`", () => {
    expect(hintFor('no secret "db-pasword"; did you mean "db-password"?')).toBe("`berth secret list` lists the secrets");
  });
  it("something else gets no hint rather than a wrong one", () => {
    expect(hintFor("no artifact abc")).toBeUndefined();
  });
});
