import { describe, expect, it } from "vitest";
import { LbInstallError, planLbInstall } from "../../../../cli/lb/install.js";
import { checkCommon, parseWait } from "../../../../cli/lb/run.js";

const base = { controller: "10.0.0.5:7420", token: "bt1.abc.def", caPem: "-----BEGIN CERTIFICATE-----\n", prefix: "/tmp/p", nodePath: "/usr/bin/node", berthMain: "/opt/berth/dist/cli/main.js" };

describe("planLbInstall", () => {
  it("writes the token only into a 0600 env file, the CA beside it, and a unit running berth lb with the given flags", () => {
    const { plan, unit } = planLbInstall({ ...base, args: ["haproxy", "--service", "web", "--backend", "app", "--socket", "/run/haproxy/admin.sock", "--server-options", "maxconn 100"] });
    expect(unit).toBe("berth-lb-web-haproxy.service");
    const env = plan.files.find((f) => f.path.endsWith(".env"))!;
    expect(env).toMatchObject({ path: "/tmp/p/etc/berth/lb-web-haproxy.env", mode: 0o600 });
    expect(env.content).toContain("BERTH_TOKEN=bt1.abc.def");
    const u = plan.files.find((f) => f.path.endsWith(".service"))!;
    expect(u.content).toContain('ExecStart=/usr/bin/node /opt/berth/dist/cli/main.js lb haproxy --service web --backend app --socket /run/haproxy/admin.sock --server-options "maxconn 100"');
    expect(u.content).toContain("EnvironmentFile=/etc/berth/lb-web-haproxy.env");
    expect(u.content).not.toContain("bt1.abc.def");
  });

  it("refuses what it cannot install, naming it", () => {
    expect(() => planLbInstall({ ...base, args: ["envoy", "--service", "web"] })).toThrow(LbInstallError);
    expect(() => planLbInstall({ ...base, args: ["nginx", "--upstream-file", "/x"] })).toThrow(/--service NAME is required/);
    expect(() => planLbInstall({ ...base, args: ["nginx", "--service", "web", "--addr", "x:1"] })).toThrow(/--controller, not --addr/);
  });
});

describe("berth lb flags", () => {
  it("names every bad flag", () => {
    const problems = checkCommon({ service: "Web!", name: "a b", port: "70000", serverOptions: "x; y", metricsAddr: "off", logLevel: "loud" });
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["--service", "--name", "--port", "--server-options:", "--log-level"]);
    expect(checkCommon({ service: "web", metricsAddr: "off", logLevel: "info" })).toEqual([]);
  });

  it("--wait MIN[:MAX], MAX 4 x MIN by default", () => {
    expect(parseWait("500ms:2s")).toEqual({ quietMs: 500, maxMs: 2000 });
    expect(parseWait("1s")).toEqual({ quietMs: 1000, maxMs: 4000 });
    expect(() => parseWait("2s:1s")).toThrow(/MAX is shorter/);
    expect(() => parseWait("1s:2m")).toThrow(/longer than 1m/);
  });
});

describe("the flags lb install writes into the unit", () => {
  it("are parsed and checked as `berth lb haproxy|nginx` will: a unit that could never start is refused", async () => {
    const { checkLbArgs } = await import("../../../../cli/lb/install-cmd.js");
    const nginx = ["nginx", "--service", "hello", "--upstream-file", "/etc/nginx/conf.d/up.conf"];
    await expect(checkLbArgs(nginx)).resolves.toBeUndefined();
    await expect(checkLbArgs(["haproxy", "--service", "web", "--backend", "app", "--socket", "/run/haproxy/admin.sock"])).resolves.toBeUndefined();
    await expect(checkLbArgs([...nginx, "--bogus"])).rejects.toThrow(/^after --: unknown option '--bogus'/);
    await expect(checkLbArgs([...nginx, "--wait", "abc"])).rejects.toThrow(/^after --: --wait abc: invalid duration "abc"/);
    await expect(checkLbArgs(["nginx", "--service", "hello"])).rejects.toThrow(/^after --: required option '--upstream-file <file>' not specified/);
    await expect(checkLbArgs(["haproxy", "--service", "web", "--backend", "app", "--socket", "/s", "--metrics-addr", "nope"])).rejects.toThrow(/^after --: --metrics-addr: /);
  });
});
