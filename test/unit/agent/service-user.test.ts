import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, stat, writeFile, appendFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseGroups, RunAsError, serviceUser } from "../../../agent/runas/service-user.js";

let dir: string;
let passwd: string;
let group: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "berth-runas-"));
  passwd = path.join(dir, "passwd");
  group = path.join(dir, "group");
  await writeFile(passwd, ["root:x:0:0:root:/root:/bin/bash", "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin", "ops:x:1000:1000::/home/ops:/bin/bash", "toor:x:0:0::/root:/bin/sh", ""].join("\n"));
  await writeFile(group, ["root:x:0:", "sudo:x:27:ops", "www-data:x:33:", "ops:x:1000:", ""].join("\n"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = (user: string, name = "web") => ({ name, run: { user } });

describe("serviceUser: who a service runs as on this host", () => {
  it("creates berth-<service> on first use and runs as it", async () => {
    // A name no real host has: the lookup also asks id(1), which sees this machine's users.
    const svc = `zz-unit-${process.pid}`;
    const created: string[] = [];
    const createUser = async (name: string): Promise<void> => {
      created.push(name);
      await appendFile(passwd, `${name}:x:998:998::/nonexistent:/usr/sbin/nologin\n`);
    };
    const who = await serviceUser(spec("", svc), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group, createUser });
    expect(who).toMatchObject({ user: `berth-${svc}`, ids: { uid: 998, gid: 998 } });
    expect(created).toEqual([`berth-${svc}`]);
    // Known now: not created twice.
    await serviceUser(spec("", svc), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group, createUser });
    expect(created).toHaveLength(1);
  });

  it.skipIf(process.getuid?.() !== 0)("gives the default user a home of its own under the agent's data dir, made and owned by it; a named user keeps its own", async () => {
    const svc = `zz-home-${process.pid}`;
    const createUser = (name: string): Promise<void> => appendFile(passwd, `${name}:x:998:998::/nonexistent:/usr/sbin/nologin\n`);
    const homesDir = path.join(dir, "data", "homes");
    const who = await serviceUser(spec("", svc), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group, createUser, homesDir });
    expect(who.ids?.home).toBe(path.join(homesDir, `berth-${svc}`));
    const st = await stat(who.ids!.home);
    expect([st.isDirectory(), st.uid, st.gid, st.mode & 0o777]).toEqual([true, 998, 998, 0o700]);
    // Again (a restart, the next instance): the same home, still its own.
    expect((await serviceUser(spec("", svc), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group, createUser, homesDir })).ids?.home).toBe(who.ids!.home);
    expect((await serviceUser(spec("www-data"), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group, homesDir })).ids?.home).toBe("/var/www");
  });

  it("runs as an unprivileged named user; never creates one the spec names", async () => {
    expect(await serviceUser(spec("www-data"), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group })).toMatchObject({ user: "www-data", ids: { uid: 33 } });
    await expect(serviceUser(spec("nosuch"), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group, createUser: () => Promise.reject(new Error("must not")) })).rejects.toThrow(/user "nosuch" does not exist on this host/);
  });

  it("refuses root without allowRoot, and takes it with", async () => {
    await expect(serviceUser(spec("root"), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group })).rejects.toThrow(RunAsError);
    await expect(serviceUser(spec("root"), { allowRoot: false, isRoot: true, passwdPath: passwd, groupPath: group })).rejects.toThrow(/allowRoot: true/);
    expect(await serviceUser(spec("root"), { allowRoot: true, isRoot: true, passwdPath: passwd, groupPath: group })).toMatchObject({ user: "root", ids: { uid: 0 } });
  });

  it("refuses any other privileged user, even with allowRoot: a sudoer, a second uid 0", async () => {
    await expect(serviceUser(spec("ops"), { allowRoot: true, isRoot: true, passwdPath: passwd, groupPath: group })).rejects.toThrow(/run\.user ops is privileged on this host \(member of group sudo\)/);
    await expect(serviceUser(spec("toor"), { allowRoot: true, isRoot: true, passwdPath: passwd, groupPath: group })).rejects.toThrow(/uid 0/);
  });

  it("an agent that is not root runs everything as itself, and refuses root", async () => {
    expect(await serviceUser(spec(""), { allowRoot: true, isRoot: false, passwdPath: passwd, groupPath: group })).toEqual({ user: "" });
    await expect(serviceUser(spec("root"), { allowRoot: true, isRoot: false, passwdPath: passwd, groupPath: group })).rejects.toThrow(RunAsError);
  });

  it("reads group membership from group(5): the primary group and the member lists", () => {
    expect(parseGroups("root:x:0:\nsudo:x:27:ops,al\nops:x:1000:\n", "ops", 1000)).toEqual(["sudo", "ops"]);
    expect(parseGroups("sudo:x:27:opsx\n", "ops", 1000)).toEqual([]);
  });
});
