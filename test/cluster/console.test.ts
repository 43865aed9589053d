/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core
 * (never a downloaded browser), against a real fleet — a controller and three
 * agents on loopback addresses the browser can reach. What the page shows is
 * checked against the CLI's own output, live changes arrive without a reload, a
 * viewer can change nothing (not even with a forged request), and the page comes
 * back by itself after the controller restarts.
 *
 * UPDATE_SCREENSHOTS=1 also writes a picture of each page to docs/screenshots/
 * (for the README); without it nothing is written.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Cluster, ROOT, type HostJson } from "./harness/cluster.js";
import { svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = join(ROOT, "docs", "screenshots");
const UPDATE = process.env.UPDATE_SCREENSHOTS === "1";

interface ServiceJson {
  name: string;
  desired: number;
  healthy: number;
  reconcile_error: unknown;
}

/** Waits for the element's text to satisfy `pred`, polling the live page (never reloading it). */
async function waitText(page: Page, selector: string, pred: (t: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  let last = "";
  try {
    return await waitFor(async () => {
      last = (await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)) ?? "(no such element)";
      return pred(last) ? last : undefined;
    }, { timeoutMs, intervalMs: 200, what });
  } catch (e) {
    const body = ((await page.locator("body").textContent({ timeout: 1000 }).catch(() => "")) ?? "").slice(0, 1500);
    throw new Error(`${(e as Error).message}; ${selector} last read ${JSON.stringify(last.slice(0, 300))}; the page: ${body}`);
  }
}

describe.skipIf(!existsSync(CHROMIUM))("web console in Chromium", () => {
  let c: Cluster;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let reloads = 0;
  /** What the browser reported against the Content-Security-Policy: must stay empty. */
  const cspViolations: string[] = [];

  const shot = async (p: Page, name: string): Promise<void> => {
    if (!UPDATE) return;
    await mkdir(SHOTS, { recursive: true });
    await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
  };

  const signIn = async (ctx: BrowserContext, token: string): Promise<Page> => {
    const p = await ctx.newPage();
    p.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await p.goto(c.uiUrl);
    await p.locator("input[name=token]").fill(token);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.locator("[data-testid=role]").waitFor();
    return p;
  };

  beforeAll(async () => {
    // Loopback: the browser runs in the test's own network namespace and must reach the console.
    c = await Cluster.start({ hosts: 3, mode: "loopback" });
    const applied = await c.apply(await c.specDir("web1", { "web.yaml": svcSpec("web", { instances: 2 }) }));
    expect(applied.code, applied.stderr).toBe(0);
    await c.waitForStatus("web", (s) => s.instances.filter((i) => i.state === "healthy").length === 2, "web healthy on two hosts");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
    // The controller's certificate is from its own CA, which this browser does not know.
    admin = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await c?.destroy();
  });

  it("signs in with a token, and the overview's counters match `berth hosts` and `berth services`", async () => {
    const first = await admin.newPage();
    await first.goto(c.uiUrl);
    await first.locator("input[name=token]").waitFor();
    await shot(first, "signin");
    await first.close();

    page = await signIn(admin, c.adminToken);
    page.on("load", () => reloads++);
    const csp = (await page.request.get(c.uiUrl)).headers()["content-security-policy"];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    // The token never reaches page scripts: the cookie is HttpOnly.
    expect(await page.evaluate("document.cookie")).toBe("");
    const cookie = (await admin.cookies()).find((k) => k.name === "__Host-berth-session");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });

    const hosts = await c.hosts();
    const services = await c.cliJson<ServiceJson[]>(["services"]);
    const count = (s: string): number => hosts.filter((h) => h.status === s).length;
    const healthy = services.filter((s) => s.healthy >= s.desired && !s.reconcile_error).length;
    await waitText(page, "[data-testid=counter-hosts-ready] .counter-value", (t) => t === String(count("ready")), "hosts ready");
    expect(await page.locator("[data-testid=counter-hosts-down] .counter-value").textContent()).toBe(String(count("down")));
    expect(await page.locator("[data-testid=counter-hosts-cordoned] .counter-value").textContent()).toBe(String(count("cordoned") + count("draining")));
    expect(await page.locator("[data-testid=counter-services-healthy] .counter-value").textContent()).toBe(String(healthy));
    expect(await page.locator("[data-testid=counter-services-failed] .counter-value").textContent()).toBe(String(services.filter((s) => s.desired > 0 && s.healthy === 0).length));
    expect(await page.locator("[data-testid=counter-failover] .counter-value").textContent()).toBe("active");
    await shot(page, "overview");

    // The other pages, as a first look (and their pictures).
    await page.goto(`${c.uiUrl}#/hosts`);
    await page.locator("[data-testid=hosts] tbody tr").nth(2).waitFor();
    expect(await page.locator("[data-testid=hosts] tbody tr").count()).toBe(hosts.length);
    await page.locator("input[aria-label='filter hosts']").fill(hosts[0]!.address);
    await waitFor(async () => ((await page.locator("[data-testid=hosts] tbody tr").count()) === 1 ? true : undefined), { timeoutMs: 5000, intervalMs: 100, what: "the filter to leave one host" });
    await page.locator("input[aria-label='filter hosts']").fill("");
    // Each host's certificate: time left (30 days by default, so not in the warning colour).
    for (const h of hosts) {
      expect(h.cert_expires_ms, h.id).toBeGreaterThan(Date.now());
      const left = page.locator(`[data-testid=hosts] tr[data-host="${h.id}"] [data-testid=cert-left]`);
      const [, days] = /^(\d+)d \d+h left$/.exec((await left.textContent()) ?? "") ?? [];
      expect(Number(days), h.id).toBe(Math.floor((h.cert_expires_ms - Date.now()) / 86_400_000));
      expect(await left.getAttribute("data-warn")).toBe("0");
    }
    await shot(page, "hosts");
    await page.goto(`${c.uiUrl}#/hosts/${hosts[0]!.id}`);
    await page.getByText("Facts").waitFor();
    await shot(page, "host");
    await page.goto(`${c.uiUrl}#/services`);
    await waitText(page, "[data-service=web] [data-testid=healthy]", (t) => t === "2/2", "web 2/2 in the services list");
    await shot(page, "services");

    // The control plane, as `berth controllers` shows it: each member and whether it reaches the store.
    const ctl = await c.cliJson<{ members: { id: string; leader: boolean; store_state: string }[]; store: string }>(["controllers"]);
    await page.goto(`${c.uiUrl}#/controllers`);
    await page.locator("[data-testid=controllers] tbody tr").first().waitFor();
    expect(await page.locator("[data-testid=controllers] tbody tr").count()).toBe(ctl.members.length);
    for (const m of ctl.members) {
      const row = page.locator(`[data-testid=controllers] tr[data-member="${m.id}"]`);
      expect(await row.locator("[data-testid=store]").textContent(), m.id).toBe(m.store_state);
      expect(await row.textContent(), m.id).toContain(m.leader ? "leader for" : "member");
    }
    expect(ctl.store).toBe("leveldb");
    expect(await page.locator("[data-testid=store-kind]").textContent()).toBe("store: LevelDB (a lone controller)");
    // All well: no warning, here or on the overview (the warnings' own wording is checked in test/unit/ui/controllers-route.test.ts).
    expect(await page.locator("[data-testid=controller-warnings]").count()).toBe(0);
    await shot(page, "controllers");
  });

  it("shows a host go down and its instance move, live", async () => {
    await page.goto(`${c.uiUrl}#/services/web`);
    await page.locator("[data-testid=instances] tr[data-instance]").nth(1).waitFor();
    await waitText(page, "[data-testid=spec]", (t) => t.includes("name: web"), "the spec as YAML");
    // The endpoints, from the same watch as `berth endpoints -w`.
    // Both copies in service first: an earlier test's rollout may have left one healthy for less than minHealthyTime.
    const listed = await waitFor(
      async () => {
        const l = (await c.cliJson<{ endpoint: string }[]>(["endpoints", "web"])).map((e) => e.endpoint).sort();
        return l.length === 2 ? l : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "both copies of web in service (berth endpoints)" },
    );
    await waitFor(async () => {
      const shown = (await page.locator("[data-testid=endpoints] [data-testid=endpoint]").allTextContents()).sort();
      return JSON.stringify(shown) === JSON.stringify(listed) ? true : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200, what: `the service page to list the endpoints ${listed.join(", ")}` });
    await shot(page, "service");
    const overview = await admin.newPage();
    await overview.goto(c.uiUrl);
    await waitText(overview, "[data-testid=counter-hosts-down] .counter-value", (t) => t === "0", "no host down");

    const before = await c.status("web");
    const victim = before.instances[0]!;
    const node = [1, 2, 3].find((i) => c.topo.hostAddr(i) === victim.host_address)!;
    const loads = reloads;
    await c.topo.killHost(node);
    await waitText(overview, "[data-testid=counter-hosts-down] .counter-value", (t) => t === "1", "the overview to count the host down", 30_000);
    // Warnings first: host.down (and the instance it lost) above everything else.
    await overview.locator("[data-testid=recent-events] tr.warn[data-type='host.down']").first().waitFor();
    expect(await overview.locator("[data-testid=recent-events] tbody tr").first().getAttribute("class")).toBe("warn");
    // On the service page, open since before the kill: the instance now runs on the spare host.
    await waitFor(async () => {
      const row = page.locator(`[data-testid=instances] tr[data-instance="${victim.instance}"]`);
      const host = await row.getAttribute("data-host", { timeout: 1000 }).catch(() => null);
      const state = await row.getAttribute("data-state", { timeout: 1000 }).catch(() => null);
      return host && host !== victim.host && state === "healthy" ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `${victim.instance} healthy on another host, on the page` });
    expect(reloads).toBe(loads);
    const after = await c.status("web");
    expect(after.instances.find((i) => i.instance === victim.instance)?.host).not.toBe(victim.host);
    // The lost host was judged down, not seen to stop: the page says its copy may still run there, as status does.
    const left = page.locator(`[data-testid=instances] tr[data-left-on="${victim.host}"]`);
    await waitText(page, `[data-testid=instances] tr[data-left-on="${victim.host}"]`, (t) => t.includes(`may still run on ${victim.host} (epoch ${victim.epoch}, replaced`), "the note of the copy left on the lost host");
    await overview.close();

    // The host comes back for the rollout below; ready, it ran nothing old any more, and the note goes.
    c.startAgent(node);
    await c.waitForHosts((hs: HostJson[]) => hs.filter((h) => h.status === "ready").length === 3, "3 ready hosts again", 60_000);
    await c.waitForStatus("web", (st) => st.instances.every((i) => i.left_on.length === 0), "the note of the left copy gone", 15_000);
    // Its prune writes no event for the page to follow: loaded afresh, the page no longer has it.
    await page.reload();
    await page.locator("[data-testid=instances] tr[data-instance]").nth(1).waitFor();
    expect(await left.count()).toBe(0);
  });

  it("follows a rollout started from the CLI, and pauses and resumes it from the console", async () => {
    await page.goto(`${c.uiUrl}#/rollouts`);
    await page.getByRole("heading", { name: "In progress" }).waitFor();
    // Slow enough to pause by hand: each replaced copy must stay healthy 6 s before the next.
    const spec = svcSpec("web", { instances: 2, env: { V: "2" }, update: { maxUnavailable: 1, minHealthyTime: "6s", progressDeadline: "2m" } });
    const applied = await c.apply(await c.specDir("web2", { "web.yaml": spec }));
    expect(applied.code, applied.stderr).toBe(0);
    const card = page.locator("[data-testid=rollout-web]").first();
    await waitFor(async () => ((await card.getAttribute("data-status", { timeout: 1000 }).catch(() => null)) === "running" ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "the rollout shown running" });
    await waitText(page, "[data-testid=rollout-web] .rollout-head", (t) => /revision \d+ → \d+/.test(t), "the revisions of the rollout");

    await page.locator("[data-testid=rollout-actions-web] [data-action=Pause]").click();
    const dialog = page.getByRole("dialog");
    await expect(dialog.textContent()).resolves.toMatch(/No further instance of web is replaced until you resume/);
    await shot(page, "rollout-confirm");
    await dialog.locator("[data-confirm=Pause]").click();
    await waitFor(async () => ((await card.getAttribute("data-status", { timeout: 1000 }).catch(() => null)) === "paused" ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "the rollout shown paused" });
    // `rollout status` exits 7 while a rollout is paused: its JSON is read whatever the code.
    const paused = await c.cli(["rollout", "status", "web", "-o", "json"]);
    expect((JSON.parse(paused.stdout) as { status: string }).status, paused.stderr).toBe("paused");
    await shot(page, "rollouts");

    await page.locator("[data-testid=rollout-actions-web] [data-action=Resume]").click();
    await page.getByRole("dialog").locator("[data-confirm=Resume]").click();
    await waitFor(async () => {
      const r = page.locator("[data-testid=rollout-web][data-status=succeeded]");
      return (await r.count()) > 0 && /2\/2 done/.test((await r.first().textContent()) ?? "") ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 300, what: "the rollout shown succeeded, 2/2" });
    expect((await c.cliJson<{ status: string }>(["rollout", "status", "web"])).status).toBe("succeeded");
    const types = (await c.events()).filter((e) => e.service === "web").map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["rollout.paused", "rollout.resumed", "rollout.succeeded"]));

    // A row per revision kept, as `berth history` lists them: the apply above made revision 2, changing V.
    const kept = await c.cliJson<{ revision: number; current: boolean; changed: string[] | null }[]>(["history", "web"]);
    expect(kept.map((r) => [r.revision, r.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(kept[0]!.changed).toContain("run.env.V");
    expect(kept[1]!.changed).toEqual([]);
    await page.goto(`${c.uiUrl}#/services/web`);
    await page.locator("[data-testid=revisions] tr[data-revision]").nth(1).waitFor();
    expect(await page.locator("[data-testid=revisions] tr[data-revision]").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-revision"))))).toEqual(kept.map((r) => r.revision));
    expect(await page.locator("[data-testid=revisions] [data-testid=changed]").allTextContents()).toEqual([kept[0]!.changed!.join(", "), "created"]);

    await page.goto(`${c.uiUrl}#/events`);
    await page.locator("[data-testid=events] tbody tr").first().waitFor();
    await shot(page, "events");
  });

  it("gives a viewer no button that changes anything, and refuses a forged mutating request", async () => {
    const created = await c.cli(["token", "create", "--role", "viewer"]);
    expect(created.code, created.stderr).toBe(0);
    const viewerToken = created.stdout.trim();
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    try {
      const v = await signIn(ctx, viewerToken);
      expect(await v.locator("[data-testid=role]").textContent()).toMatch(/^viewer/);
      expect(await v.getByRole("link", { name: "Audit" }).count()).toBe(0);
      const hosts = await c.hosts();
      for (const hash of [`#/hosts/${hosts[0]!.id}`, "#/rollouts", "#/services/web", "#/"]) {
        await v.goto(`${c.uiUrl}${hash}`);
        await waitText(v, "section", (t) => t.length > 0 && !t.startsWith("Loading"), `${hash} shown`);
        expect(await v.locator("[data-action], [data-confirm]").count(), hash).toBe(0);
      }
      // Forged: the calls a viewer's page would make if it had the buttons.
      const target = hosts[0]!.id;
      const forged = await v.evaluate(async (id) => {
        const s = (await (await fetch("/api/session")).json()) as { csrf: string };
        const call = async (headers: Record<string, string>) => {
          const r = await fetch(`/api/hosts/${id}/cordon`, { method: "POST", headers, body: "{}" });
          return { status: r.status, body: (await r.json()) as { error: string; code?: string } };
        };
        return {
          withCsrf: await call({ "content-type": "application/json", "x-berth-csrf": s.csrf }),
          withoutCsrf: await call({ "content-type": "application/json" }),
          form: await call({ "content-type": "application/x-www-form-urlencoded" }),
        };
      }, target);
      expect(forged.withCsrf).toMatchObject({ status: 403, body: { code: "PERMISSION_DENIED" } });
      expect(forged.withCsrf.body.error).toMatch(/operator/);
      expect(forged.withoutCsrf.status).toBe(403);
      expect(forged.withoutCsrf.body.error).toMatch(/CSRF/);
      expect(forged.form.status).toBe(403);
      // Even an admin's cookie does nothing without the CSRF token (a request forged by another site).
      const adminForged = await page.evaluate(async (id) => (await fetch(`/api/hosts/${id}/cordon`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status, target);
      expect(adminForged).toBe(403);
      expect((await c.hosts()).find((h) => h.id === target)?.cordoned).toBe(false);

      // Both refusals are in the audit log, which the admin sees in the console.
      await page.goto(`${c.uiUrl}#/audit`);
      // Made through the viewer's console session: the line names the token it was signed in with.
      await waitText(page, "[data-testid=audit] tbody", (t) => t.includes("Cordon") && t.includes("viewer") && t.includes(`session of ${viewerToken.split(".")[1]!}`), "the viewer's refused Cordon in the audit log");
      await shot(page, "audit");
    } finally {
      await ctx.close();
    }
  });

  it("a sign-in gets a session token of its own: signing out revokes it, and revoking the token signed in with ends its sessions", async () => {
    const tokenOf = async (): Promise<string> => {
      const created = await c.cli(["token", "create", "--role", "viewer"]);
      expect(created.code, created.stderr).toBe(0);
      return created.stdout.trim();
    };
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    try {
      const cookieOf = async (): Promise<string | undefined> => (await ctx.cookies(c.uiUrl)).find((k) => k.name === "__Host-berth-session")?.value;
      /** GET /api/session with `cookie` (as a browser that kept it would send it): its status and error. */
      const withCookie = async (cookie: string): Promise<{ status: number; error?: string }> => {
        await ctx.addCookies([{ name: "__Host-berth-session", value: cookie, url: c.uiUrl, secure: true, httpOnly: true, sameSite: "Strict" }]);
        const r = await ctx.request.get(`${c.uiUrl}api/session`);
        return { status: r.status(), ...((await r.json()) as { error?: string }) };
      };

      // Signing out: the cookie's token is revoked, so a copy of the cookie kept elsewhere is refused.
      const first = await tokenOf();
      const v = await signIn(ctx, first);
      const session = decodeURIComponent((await cookieOf())!);
      expect(session).toMatch(/^bt1\./);
      expect(session).not.toBe(first); // never the operator's own token
      expect(await v.locator("[data-testid=session-warning]").count()).toBe(0);
      // The header and the audit log name the token it was signed in with.
      expect(await v.locator("[data-testid=role]").textContent()).toContain(`${first.split(".")[1]!} (session ${session.split(".")[1]!})`);
      const firstId = first.split(".")[1]!;
      const listed = JSON.parse((await c.cli(["token", "list", "-o", "json"])).stdout) as { tokens: { id: string; created_by: string; description: string; role: string }[] };
      expect(listed.tokens.find((t) => t.id === session.split(".")[1])).toMatchObject({ created_by: firstId, role: "viewer", description: expect.stringMatching(/^web console session/) as unknown as string });
      await v.getByRole("button", { name: "Sign out" }).click();
      await v.locator("input[name=token]").waitFor();
      const after = await withCookie(encodeURIComponent(session));
      expect(after.status).toBe(401);
      expect(after.error).toMatch(/was revoked/);
      // The token signed in with still works (signing out ended the session, not the operator's token).
      expect((await c.cli(["services"], { token: first })).code).toBe(0);

      // Revoking the token signed in with ends every session opened with it.
      const second = await tokenOf();
      const w = await signIn(ctx, second);
      const secondSession = (await cookieOf())!;
      expect((await c.cli(["token", "revoke", second.split(".")[1]!])).code).toBe(0);
      const ended = await withCookie(secondSession);
      expect(ended.status).toBe(401);
      expect(ended.error).toMatch(/which this console session was signed in with, was revoked/);
      await w.close();
    } finally {
      await ctx.close();
    }
  });

  it("survives a controller restart: reconnects by itself, still signed in", async () => {
    await page.goto(c.uiUrl);
    await waitText(page, "[data-testid=live]", (t) => t.includes("live"), "the page live");
    const loads = reloads;
    await c.killControllerProcess();
    await waitText(page, "[data-testid=live]", (t) => t.includes("reconnecting"), "the page to notice the controller is gone");
    await c.startController();
    await waitText(page, "[data-testid=live]", (t) => t.includes("live"), "the page live again", 60_000);
    await waitText(page, "[data-testid=counter-hosts-ready] .counter-value", (t) => t === "3", "the counters after the restart", 60_000);
    expect(await page.locator("input[name=token]").count()).toBe(0);
    expect(reloads).toBe(loads);
    expect(cspViolations).toEqual([]);
    // And a change after the restart arrives live too.
    const id = (await c.hosts())[0]!.id;
    expect((await c.cli(["cordon", id])).code).toBe(0);
    await waitText(page, "[data-testid=counter-hosts-cordoned] .counter-value", (t) => t === "1", "the cordon shown live after the restart");
  });

  it("lists a removed host among the warnings, first", async () => {
    await page.goto(c.uiUrl);
    const id = (await c.hosts())[0]!.id;
    const removed = await c.cli(["host", "remove", id]);
    expect(removed.code, removed.stderr).toBe(0);
    await page.locator(`[data-testid=recent-events] tr.warn[data-type='host.removed']`).first().waitFor();
    expect(await page.locator("[data-testid=recent-events] tbody tr").first().getAttribute("class")).toBe("warn");
  });
});
