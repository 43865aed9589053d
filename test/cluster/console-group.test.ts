/**
 * The web console's Controllers page in a real browser (Debian's Chromium, driven by
 * playwright-core) against a real controller group: 3 members on a 3-member etcd, the
 * page served by c1. Members that go — one killed (lost), one stopped cleanly (left) —
 * appear as such live, with the hint that says what to do; one forgotten with the CLI
 * leaves the page, and one started again is a member again. The rows' wording is held to
 * `berth controllers` in test/unit/ui/controllers-route.test.ts; here, that a group's page
 * shows them as they happen, without a reload.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { Group } from "./harness/group.js";
import { waitFor } from "./harness/wait.js";

const CHROMIUM = "/usr/bin/chromium";

describe.skipIf(!existsSync(CHROMIUM))("the console's Controllers page in a controller group (Chromium)", () => {
  let g: Group;
  let browser: Browser;
  let page: Page;
  let loads = 0;

  /** The rows of the members table: id → "member" or the row's data-gone ("lost", "left"). */
  // Read in one go inside the page: a row removed while they were read one by one (the table
  // re-renders live) left a locator waiting out Playwright's whole timeout for a row gone.
  const rows = (): Promise<Record<string, string>> =>
    page
      .locator("[data-testid=controllers] tbody tr")
      .evaluateAll((trs) => Object.fromEntries(trs.flatMap((r) => { const id = r.getAttribute("data-member"); return id ? [[id, r.getAttribute("data-gone") ?? "member"]] : []; })));
  const waitRows = (want: Record<string, string>, what: string): Promise<Record<string, string>> => {
    let last: Record<string, string> = {};
    return waitFor(
      async () => {
        last = await rows().catch(() => ({}));
        return JSON.stringify(Object.entries(last).sort()) === JSON.stringify(Object.entries(want).sort()) ? last : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `${what} (last seen: ${JSON.stringify(last)})` },
    );
  };

  beforeAll(async () => {
    // Loopback: the browser runs in the test's own network namespace and must reach c1's console.
    g = await Group.start({ controllers: 3, hosts: 1, ui: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
    // The group's certificate is from its own CA, which this browser does not know.
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    await page.goto(g.uiUrl(1));
    await page.locator("input[name=token]").fill(g.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("[data-testid=role]").waitFor();
    page.on("load", () => loads++);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await g?.destroy();
  });

  it("shows a member lost and one left as they go, drops the one forgotten, and takes back the one started again — live", async () => {
    await page.goto(`${g.uiUrl(1)}#/controllers`);
    await waitRows({ c1: "member", c2: "member", c3: "member" }, "the three members");
    // etcd's endpoints, each healthy; no warnings.
    await waitFor(async () => ((await page.locator("[data-testid=etcd] tbody tr").count()) === 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200, what: "3 etcd endpoints" });
    expect(await page.locator("[data-testid=etcd] tbody tr.warn").count()).toBe(0);
    expect(await page.locator("[data-testid=controller-warnings]").count()).toBe(0);
    expect(await page.locator("[data-testid=gone-hint]").count()).toBe(0);
    const before = loads;

    // c3 killed: nothing said, its lease runs out, and the leader counts it lost.
    await g.kill(3);
    await waitRows({ c1: "member", c2: "member", c3: "lost" }, "c3 shown lost");
    // First "not registered" (its key gone), then "lost" with since when, once the leader has noted the loss.
    await waitFor(async () => (/lost/.test((await page.locator("tr[data-member=c3][data-gone=lost]").textContent()) ?? "") ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "c3's row to say lost" });
    expect(await page.locator("[data-testid=gone-hint]").textContent()).toContain("berth controllers forget ID");

    // c2 stopped cleanly: it says it leaves.
    await g.stop(2);
    await waitRows({ c1: "member", c2: "left", c3: "lost" }, "c2 shown left");
    await waitFor(async () => (/left .*ago/.test((await page.locator("tr[data-member=c2][data-gone=left]").textContent()) ?? "") ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "c2's row to say left, since when" });

    // Forgotten with the CLI (an admin): gone from the page.
    const forgot = await g.cli(["controllers", "forget", "c2"]);
    expect(forgot.code, forgot.stderr).toBe(0);
    await waitRows({ c1: "member", c3: "lost" }, "c2 forgotten");

    // c3 started again: a member again, and nothing gone is left to explain.
    g.startController(3);
    await waitRows({ c1: "member", c3: "member" }, "c3 back");
    await waitFor(async () => ((await page.locator("[data-testid=gone-hint]").count()) === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200, what: "the hint gone" });
    // All of it without a reload: the page followed the group by itself.
    expect(loads).toBe(before);
  }, 180_000);
});
