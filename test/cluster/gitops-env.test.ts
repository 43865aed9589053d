/**
 * A GitOps source with an environment, through real git (issue 14): the repository holds
 * one fleet folder (services/ + envs/<env>.yaml); a controller serving prod follows it
 * with `--env prod`. A commit that changes only prod's overlay changes instances in prod,
 * with the artifact digest unchanged and no rollout; a source for staging on the same
 * controller is refused with a status error that says why, and changes nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Cluster, type StatusJson } from "./harness/cluster.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";
import { fleetRepo, startGitServer, type FleetRepo, type GitServer } from "./harness/git-server.js";

const GIT_PORT = 9487;

interface CommitJson {
  commit: string;
  errors: string[];
  rollouts: { service: string; from_revision: number; to_revision: number }[];
}
interface SourceJson {
  last_attempted: CommitJson | null;
  last_applied: CommitJson | null;
  owned: string[];
  attempts: number;
}
interface ServiceRow {
  name: string;
  revision: number;
  owner: string;
  artifact: string;
  environment: string;
}

const web = svcSpec("web", { instances: 1, health: false }).replace(`artifact: ${SVC}`, "artifact: ../../app");
const overlay = (instances: number | undefined): string => (instances === undefined ? "services: {}\n" : `services:\n  web:\n    instances: ${instances}\n`);

describe("gitops with an environment", () => {
  let c: Cluster;
  let server: GitServer | undefined;
  let fleet: FleetRepo | undefined;

  const push = (files: Record<string, string>, message: string): Promise<string> => fleet!.commit(files, message);
  const source = (name: string): Promise<SourceJson> => c.cliJson<SourceJson>(["gitops", "status", name]);
  const waitSource = (name: string, pred: (s: SourceJson) => boolean, what: string): Promise<SourceJson> =>
    waitFor(async () => {
      const s = await source(name);
      return pred(s) ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what });
  const row = async (): Promise<ServiceRow | undefined> => (await c.cliJson<ServiceRow[]>(["services"])).find((s) => s.name === "web");

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, controllerArgs: ["--environment", "prod"] });
    fleet = await fleetRepo(c.dir);
    server = await startGitServer(c.topo, { addr: c.topo.controllerAddr, port: GIT_PORT, root: fleet.root });
  }, 120_000);

  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });

  afterAll(async () => {
    server?.stop();
    await c?.destroy();
    if (fleet) await rm(fleet.work, { recursive: true, force: true });
  });

  it("an overlay commit changes instances in prod only: the artifact digest unchanged, no rollout", async () => {
    const repo = `http://${c.topo.controllerAddr}:${GIT_PORT}/fleet.git`;
    const first = await push({ "fleet/services/web.yaml": web, "fleet/envs/prod.yaml": overlay(undefined), "fleet/envs/staging.yaml": overlay(undefined) }, "web, one instance everywhere");
    const add = await c.cli(["gitops", "add", "prod", "--repo", repo, "--path", "fleet", "--env", "prod", "--interval", "5s"]);
    expect(add.code, add.stderr).toBe(0);
    await waitSource("prod", (s) => s.last_applied?.commit === first, "the first commit applied in prod");
    const before = await row();
    expect(before).toMatchObject({ owner: "prod", environment: "prod" });
    expect(before?.artifact).toMatch(/sha256:/);
    await c.waitForStatus("web", (s: StatusJson) => s.instances.length === 1, "one instance of web");

    // Only prod's overlay changes: staging's file and the service's own are as they were.
    const scaled = await push({ "fleet/envs/prod.yaml": overlay(2) }, "prod: two instances of web");
    const st = await waitSource("prod", (s) => s.last_applied?.commit === scaled, "the overlay commit applied in prod");
    // Scaling is no restart: no rollout, the same revision, the same build.
    expect(st.last_applied?.rollouts).toEqual([]);
    const after = await row();
    expect(after?.artifact).toBe(before?.artifact);
    expect(after?.revision).toBe(before?.revision);
    await c.waitForStatus("web", (s: StatusJson) => s.instances.length === 2, "two instances of web in prod");
    // The same tree rendered for staging would still run one: the overlay is prod's alone.
    await cp(join(fleet!.work, "fleet"), join(c.dir, "specs", "fleet"), { recursive: true });
    await cp(join(fleet!.work, "app"), join(c.dir, "specs", "app"), { recursive: true });
    const staging = await c.cli(["render", "-f", join(c.dir, "specs", "fleet"), "--env", "staging"]);
    expect(staging.code, staging.stderr).toBe(0);
    expect(staging.stdout).toMatch(/^instances: 1$/m);
    // And rendered for prod, the commit is what runs: nothing to change.
    const plan = await c.cli(["plan", "-f", join(c.dir, "specs", "fleet"), "--env", "prod"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/no changes/);
  });

  it("a source for another environment than the controller serves is refused with a status error, changing nothing", async () => {
    const before = await row();
    const repo = `http://${c.topo.controllerAddr}:${GIT_PORT}/fleet.git`;
    const add = await c.cli(["gitops", "add", "stg", "--repo", repo, "--path", "fleet", "--env", "staging", "--interval", "5s"]);
    expect(add.code, add.stderr).toBe(0);
    const head = await fleet!.git("rev-parse", "HEAD");
    const st = await waitSource("stg", (s) => s.last_attempted?.commit === head, "the staging source to be attempted");
    expect(st.last_applied).toBeNull();
    expect(st.owned).toEqual([]);
    // One error, the environment's — not a list of what else would be wrong with it here.
    expect(st.last_attempted?.errors).toEqual([
      'source stg is for environment "staging", but this controller serves "prod": nothing applied (follow it from staging\'s controller, or add it with --env prod)',
    ]);
    const text = await c.cli(["gitops", "status", "stg"]);
    expect(text.stdout).toContain('this controller serves "prod"');
    const ev = await c.events();
    expect(ev.some((e) => e.type === "gitops.invalid" && e.message.includes('source stg is for environment "staging"'))).toBe(true);
    const after = await row();
    expect(after).toMatchObject({ owner: "prod", environment: "prod", revision: before?.revision, artifact: before?.artifact });
  });
});
