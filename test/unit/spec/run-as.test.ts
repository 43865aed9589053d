import { describe, expect, it } from "vitest";
import { applyRunAsRefusal, defaultServiceUser, effectiveUser, privilegeOf, runAsRefusal, wantsRoot } from "../../../shared/spec/run-as.js";

const user = (o: Partial<{ name: string; uid: number; gid: number; groups: string[] }> = {}) => ({ name: "app", uid: 998, gid: 998, groups: ["app"], ...o });

describe("who a service runs as", () => {
  it("defaults to a per-service system user, within useradd's 32 characters and distinct for long names", () => {
    expect(defaultServiceUser("web")).toBe("berth-web");
    expect(effectiveUser({ name: "web", run: { user: "" } })).toBe("berth-web");
    expect(effectiveUser({ name: "web", run: { user: "www-data" } })).toBe("www-data");
    const a = defaultServiceUser("a-very-long-service-name-that-goes-on-and-on-1");
    const b = defaultServiceUser("a-very-long-service-name-that-goes-on-and-on-2");
    for (const n of [a, b]) {
      expect(n.length).toBeLessThanOrEqual(32);
      expect(n).toMatch(/^[a-z_][a-z0-9_-]*$/);
    }
    expect(a).not.toBe(b);
  });

  it("calls privileged: uid 0, primary group 0, or a member of a group that gives root", () => {
    expect(privilegeOf(user())).toBeUndefined();
    expect(privilegeOf(user({ name: "toor", uid: 0 }))).toBe("uid 0");
    expect(privilegeOf(user({ gid: 0, groups: ["root"] }))).toBe("primary group 0");
    for (const g of ["sudo", "wheel", "docker", "disk", "lxd", "shadow"]) expect(privilegeOf(user({ groups: ["app", g] }))).toBe(`member of group ${g}`);
    expect(privilegeOf(user({ groups: ["app", "www-data", "adm"] }))).toBeUndefined();
  });

  it("the agent runs a privileged user only as root, and only where allowRoot says so", () => {
    expect(runAsRefusal({ requested: "", privileged: undefined, allowRoot: false })).toBeUndefined();
    expect(runAsRefusal({ requested: "www-data", privileged: undefined, allowRoot: false })).toBeUndefined();
    expect(runAsRefusal({ requested: "root", privileged: "uid 0", allowRoot: true })).toBeUndefined();
    expect(runAsRefusal({ requested: "root", privileged: "uid 0", allowRoot: false })).toMatch(/allowRoot: true/);
    // Any other privileged name would slip past the controller's admin check: refused even with allowRoot.
    expect(runAsRefusal({ requested: "ops", privileged: "member of group sudo", allowRoot: true })).toMatch(/run\.user ops is privileged on this host \(member of group sudo\).*run\.user: root/);
  });

  it("the controller stores run.user root only from an admin, naming admin and allowRoot", () => {
    const root = { name: "web", run: { user: "root" } };
    expect(wantsRoot(root)).toBe(true);
    expect(applyRunAsRefusal(root, "admin")).toBeUndefined();
    const msg = applyRunAsRefusal(root, "operator");
    expect(msg).toMatch(/admin token/);
    expect(msg).toMatch(/allowRoot: true/);
    expect(applyRunAsRefusal({ name: "web", run: { user: "" } }, "operator")).toBeUndefined();
    expect(applyRunAsRefusal({ name: "web", run: { user: "www-data" } }, "operator")).toBeUndefined();
  });
});
