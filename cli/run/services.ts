/** What `berth services`, `status`, `delete`, `place`, `unpin`, `drain`, `logs`, `endpoints`, `schema` do (descriptors: cli/commands/services.ts). */
import type { Command } from "commander";
import type { ServiceStatus__Output } from "../../shared/gen/berth/v1/ServiceStatus.js";
import type { ReconcileError__Output } from "../../shared/gen/berth/v1/ReconcileError.js";
import { LAST_FAILURE_PREFIX } from "../../shared/failure-text.js";
import type { LogsChunk__Output } from "../../shared/gen/berth/v1/LogsChunk.js";
import type { Endpoints__Output } from "../../shared/gen/berth/v1/Endpoints.js";
import { formatDurationMs } from "../../shared/duration.js";
import { call } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { parseCountFlag } from "../count-flag.js";
import { colour, parseFormat, printData, printStreamData, table, txt, type Cell } from "../output.js";
import { sanitize, sanitizeLines } from "../../shared/text/sanitize.js";
import { watchStream } from "../watch.js";
import { globalsOf, withApi } from "./common.js";
import { follow, parseTimeout, timeoutNeedsWait, UNPLACEABLE_FOR_MS } from "../wait.js";
import type { Api } from "../client.js";

/** `web-0` → `web` (host.service names the instance). */
const serviceOfInstance = (inst: string): string => inst.replace(/-\d+$/, "");

/** Follows a drain until the host is cordoned with nothing on it. */
async function waitDrained(api: Api, hostId: string, timeoutMs: number): Promise<void> {
  /** Since when the host's instance has had nowhere to go (0: it has, or is on its way). */
  let stuckSince = 0;
  await follow(`the drain of ${hostId}`, { timeoutMs }, async () => {
    const h = await call(api, api.client.GetHost, { id: hostId });
    if (h.status === "cordoned" && !h.service) return { finished: true, message: `host ${h.id} is drained: no instance left; it stays cordoned` };
    // A down host holds nothing once failover has moved its instance: nothing is left to wait for.
    if (h.status === "down" && h.cordoned && !h.service) return { finished: true, message: `host ${h.id} is down and holds no instance: nothing to drain; it stays cordoned when it comes back` };
    if (h.status === "ready") throw new CliError(`the drain of ${h.id} was cancelled: the host was uncordoned`, EXIT.failed);
    const lines: string[] = [];
    if (h.service) {
      const st = await call(api, api.client.GetService, { name: serviceOfInstance(h.service) }).catch(() => undefined);
      const i = st?.instances.find((x) => x.instance === h.service);
      if (i) lines.push(`${i.instance}: ${i.state}${i.moving_to ? `, moving to ${i.moving_to} (stops here once healthy there)` : ""}${i.reason ? ` — ${i.reason}` : ""}`);
      // Nowhere to go (no other host fits it): waiting would only run out the timeout, as
      // apply --wait ends once all that is left no host can take.
      if (i && !i.moving_to && i.stuck) {
        stuckSince ||= Date.now();
        if (Date.now() - stuckSince >= UNPLACEABLE_FOR_MS) {
          throw new CliError(`the drain of ${h.id} cannot finish: ${i.instance} ${i.reason}`, EXIT.failed, `the controller moves it by itself once a host can take it (\`berth hosts\` lists them), and ${h.id} stays draining meanwhile; \`berth uncordon ${h.id}\` cancels the drain`);
        }
      } else stuckSince = 0;
    }
    return { finished: false, now: { label: `draining ${h.id} (${h.status})${h.service ? `: ${h.service}` : ""}`, lines } };
  });
}

function stateColour(s: string): Cell {
  if (s === "healthy") return colour("green", s);
  if (s === "failed" || s === "unhealthy" || s === "lost") return colour("red", s);
  if (s === "pending") return colour("yellow", s);
  return s;
}

/** One line on why a service does not converge: its reconcile step fails, or a stored record of it is unusable. */
export function reconcileErrorLine(name: string, e: ReconcileError__Output, nowMs: number): string {
  const retry = Number(e.retry_at_ms) ? `next try in ${formatDurationMs(Math.max(0, Number(e.retry_at_ms) - nowMs))}` : "not retried until the record is replaced (berth apply)";
  const runs = e.attempts > 1 ? `${e.attempts} failures in a row; ` : "";
  return `${colour("red", "!")} ${name} does not reconcile: ${e.message} (${runs}${retry})`;
}

export function printStatus(st: ServiceStatus__Output): void {
  const healthy = st.instances.filter((i) => i.state === "healthy").length;
  console.log(txt`${st.name}  revision ${st.revision}  ${healthy}/${st.instances.length} healthy\n`);
  if (st.reconcile_error) console.log(`${reconcileErrorLine(st.name, st.reconcile_error, Number(st.now_ms))}\n`);
  console.log(
    table(
      ["INSTANCE", "HOST", "ADDRESS", "STATE", "EPOCH", "VERSION", "RESTARTS", "SINCE", "DETAIL"],
      st.instances.map((i) => [
        i.instance,
        i.host || "-",
        i.host_address || "-",
        txt`${stateColour(i.state)}${i.moving_to ? txt` → ${i.moving_to}` : ""}${i.pinned_host ? " (pinned)" : ""}`,
        String(i.epoch),
        String(i.revision),
        String(i.restarts),
        i.since_ms ? formatDurationMs(Math.max(0, Number(st.now_ms) - Number(i.since_ms))) : "-",
        i.reason || i.detail || "",
      ]),
    ),
  );
  // A copy replaced on a host judged down may be running still (a host cut off, not stopped): said, not hidden.
  for (const i of st.instances) {
    for (const l of i.left_on) {
      const ago = formatDurationMs(Math.max(0, Number(st.now_ms) - Number(l.at_ms)));
      console.log(txt`
${colour("yellow", "!")} ${i.instance} may still run on ${l.host} (epoch ${String(l.epoch)}, replaced ${ago} ago): ${l.host} was judged down, not seen to stop; if it was only cut off, that copy serves whoever still reaches it, until the host is back and its agent stops it (failover.stopAfterDisconnect stops it sooner)`);
    }
  }
  const unenforced = st.instances.filter((i) => i.host && i.state !== "pending" && !i.resources_enforced && i.resources_note);
  for (const i of unenforced) console.log(txt`\nresources are not enforced for ${i.instance} on ${i.host}: ${i.resources_note}`);
  // The install tail is the host's apt output, shown as lines: kept apart, escaped line by line.
  for (const i of st.instances.filter((x) => x.install_tail)) {
    // A crash loop's kept lines (controller/reschedule/policy.ts failedRunsText) begin so; the rest is install output.
    const what = i.install_tail.startsWith(LAST_FAILURE_PREFIX) ? "the last failed run" : "install output";
    // Install steps run in a pseudo-terminal, whose lines end in CRLF: shown as lines, not as \x0d.
    console.log(`\n--- ${what} of ${sanitize(i.instance)} (last lines)\n${sanitizeLines(i.install_tail.replace(/\r+\n/g, "\n").trimEnd())}`);
  }
}

export async function services(o: { output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.ListServices, {});
    if (printData(format, res.services)) return;
    // Environments show once there are any: the controller's (`--environment`), and each service's last apply's.
    if (res.environment) console.log(txt`environment: ${res.environment} (this controller refuses specs rendered for another)\n`);
    const envs = Boolean(res.environment) || res.services.some((s) => s.environment);
    // The OWNER column only when a GitOps source owns something: most fleets have none.
    const owned = res.services.some((s) => s.owner);
    const headers = ["NAME", "HEALTHY", "REVISION", "ARTIFACT", ...(envs ? ["ENVIRONMENT"] : []), ...(owned ? ["OWNER"] : [])];
    console.log(table(headers, res.services.map((s) => [s.name, `${s.healthy}/${s.desired}`, String(s.revision), s.artifact || "-", ...(envs ? [s.environment || "-"] : []), ...(owned ? [s.owner ? `gitops:${s.owner}` : "-"] : [])])));
    for (const s of res.services) for (const u of s.unplaced) console.log(txt`${colour("red", "!")} ${u}`);
    for (const s of res.services) if (s.reconcile_error) console.log(reconcileErrorLine(s.name, s.reconcile_error, Number(res.now_ms)));
    if (!res.services.length) console.log("\nno services yet: write a spec (berth schema) and `berth apply -f` it");
  });
}

export async function status(name: string, o: { output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  await withApi(g, async (api) => {
    const st = await call(api, api.client.GetService, { name });
    if (printData(format, { ...st, spec: JSON.parse(st.spec_json) as unknown, spec_json: undefined })) return;
    printStatus(st);
  });
}

export async function deleteService(name: string, _o: unknown, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.DeleteService, { name });
    console.log(txt`${name} deleted; ${res.changes[0]?.stop ?? 0} instance(s) stopping`);
  });
}

async function placeOrUnpin(verb: "place" | "unpin", name: string, o: { host: string }, cmd: Command): Promise<void> {
  await withApi(globalsOf(cmd), async (api) => {
    const st = await call(api, verb === "place" ? api.client.Place : api.client.Unpin, { service: name, host: o.host });
    printStatus(st);
  });
}

export const place = (name: string, o: { host: string }, cmd: Command): Promise<void> => placeOrUnpin("place", name, o, cmd);
export const unpin = (name: string, o: { host: string }, cmd: Command): Promise<void> => placeOrUnpin("unpin", name, o, cmd);

export async function drain(host: string, o: { wait?: boolean; timeout: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  timeoutNeedsWait(cmd, o.wait);
  const timeoutMs = parseTimeout(o.timeout);
  await withApi(g, async (api) => {
    const h = await call(api, api.client.Drain, { id: host });
    if (o.wait) return waitDrained(api, h.id, timeoutMs);
    console.log(txt`host ${h.id} is ${h.status}${h.service ? txt`: ${h.service} moves to a spare once a replacement is healthy` : ""}`);
  });
}

export async function logs(name: string, o: { host?: string; follow?: boolean; tail: string; install?: boolean; raw?: boolean }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const tail = parseCountFlag("--tail", o.tail, 0, 100_000);
  await withApi(g, async (api) => {
    const seen = new Set<string>();
    // Each copy's unfinished line: a copy is an instance on a host (while one moves, it runs on two).
    const partial = new Map<string, { inst: string; host: string; rest: string }>();
    const hostsOf = new Map<string, Set<string>>();
    // A service's output is its own: piped (to a file, grep, a log shipper) it
    // stays byte-exact. On a terminal it is shown escaped, as all text from a
    // host is (a compromised host could otherwise retitle the window, write
    // the clipboard, or fake berth's own lines), unless --raw says otherwise.
    const line = process.stdout.isTTY && !o.raw ? sanitizeLines : (l: string): string => l;
    // Whole lines get their instance once more than one speaks, and its host too once that instance speaks from two.
    const prefix = (inst: string, host: string): string => {
      if (!(seen.size > 1 || !o.host)) return "";
      const at = (hostsOf.get(inst)?.size ?? 0) > 1 && host ? `${inst}@${host}` : inst;
      return `${colour("grey", at).text} `;
    };
    const flush = (): void => {
      for (const p of partial.values()) if (p.rest) process.stdout.write(`${prefix(p.inst, p.host)}${line(p.rest)}\n`);
      partial.clear();
    };
    await watchStream(api, {
      follow: Boolean(o.follow),
      // Followed again after a lost member: new lines only, the history was shown (lines written meanwhile are missed).
      open: (client, md, reopen) => client.Logs({ service: name, host: o.host ?? "", follow: Boolean(o.follow), tail: reopen ? 0 : tail, install: Boolean(o.install) }, md),
      onData: (c: LogsChunk__Output) => {
        seen.add(c.instance);
        if (c.host) hostsOf.set(c.instance, (hostsOf.get(c.instance) ?? new Set<string>()).add(c.host));
        const key = `${c.host}\0${c.instance}`;
        const before = partial.get(key)?.rest ?? "";
        // Only the new piece is split: joining and splitting the whole unfinished line on every piece
        // was quadratic in a line that never ends (a service writing without newlines).
        const nl = c.data.lastIndexOf("\n");
        if (nl < 0) {
          partial.set(key, { inst: c.instance, host: c.host, rest: before + c.data });
          return;
        }
        const lines = c.data.slice(0, nl).split("\n");
        lines[0] = before + lines[0]!;
        partial.set(key, { inst: c.instance, host: c.host, rest: c.data.slice(nl + 1) });
        for (const l of lines) process.stdout.write(`${prefix(c.instance, c.host)}${line(l)}\n`);
      },
      onLost: (why) => {
        flush();
        // Not always the controller: a member that answers may have lost the host's agent stream.
        // A member's own sentence about a host ("host H: its agent stream is on member …") reads as it is; anything else is why the stream ended.
        const said = sanitizeLines(why);
        process.stderr.write(/^host \S+: /.test(said) ? `berth: ${said}; following again…\n` : `berth: the logs stopped (${said}); following again…\n`);
      },
    });
    flush();
  });
}

export async function history(name: string, o: { output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  await withApi(g, async (api) => {
    const h = await call(api, api.client.GetServiceHistory, { name });
    const rows = h.revisions.map((r) => ({
      revision: Number(r.revision),
      current: r.current,
      previous_revision: Number(r.previous_revision),
      environment: r.environment,
      changed: r.changed_known ? r.changed : null,
      spec: JSON.parse(r.spec_json) as unknown,
    }));
    if (printData(format, rows)) return;
    const what = (r: (typeof rows)[number]): string =>
      r.changed === null ? "(the revision it replaced is no longer kept)" : r.previous_revision === 0 ? "created" : r.changed.length ? r.changed.map(sanitize).join(", ") : "(same spec)";
    console.log(table(["REVISION", "REPLACED", "ENV", "CHANGED"], rows.map((r) => [r.current ? `${r.revision} (current)` : String(r.revision), r.previous_revision ? String(r.previous_revision) : "-", sanitize(r.environment) || "-", what(r)])));
  });
}

export async function endpoints(name: string, o: { watch?: boolean; output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  await withApi(g, async (api) => {
    let lastLine = "";
    const show = (e: Endpoints__Output): void => {
      const rows = e.endpoints.map((x) => ({ instance: x.instance, host: x.host, endpoint: x.port ? `${x.address}:${x.port}` : x.address, epoch: Number(x.epoch), revision: Number(x.revision) }));
      if (o.watch && format !== "table") {
        // A message that only says what a load balancer applied leaves the list as it was:
        // the stream stays one item (a JSON line, a YAML document) per change of the list.
        const line = JSON.stringify(rows);
        if (line !== lastLine) printStreamData(format, rows);
        lastLine = line;
      } else if (!printData(format, rows)) {
        if (o.watch) console.log(`--- ${new Date().toISOString()}  ${rows.length} in service`); // ours only
        console.log(rows.length ? table(["INSTANCE", "HOST", "ENDPOINT", "VERSION"], rows.map((r) => [r.instance, r.host, r.endpoint, String(r.revision)])) : o.watch ? "(none in service)" : `(none in service: an instance is in service once healthy for the update's minHealthyTime on a ready host; \`berth status ${sanitize(name)}\` shows each one)`);
        // Per load balancer following the service (`berth lb`): has it applied this list?
        if (e.lbs.length) {
          console.log(`\nlist ${e.version}; load balancers:`);
          const at = (ms: number): string => (ms ? new Date(ms).toISOString() : "-");
          console.log(
            table(
              ["LB", "KIND", "APPLIED", "SERVERS", "AT", "ERROR"],
              e.lbs.map((l) => [sanitize(l.lb), sanitize(l.kind), l.version === e.version ? "this list" : l.version ? `older (${sanitize(l.version)})` : "none yet", String(l.servers), at(Number(l.applied_at_ms)), sanitize(l.error) || "-"]),
            ),
          );
        }
      }
    };
    await watchStream(api, {
      follow: Boolean(o.watch),
      // Every stream starts with the whole list: a reopen on another member prints it again, current.
      open: (client, md) => client.WatchEndpoints({ name }, md),
      onData: (e: Endpoints__Output, w) => {
        show(e);
        if (!o.watch) w.stop();
      },
      onLost: (why) => process.stderr.write(`berth: lost the controller (${sanitizeLines(why)}); watching again…\n`),
    });
  });
}

export async function schema(o: { output: string }): Promise<void> {
  const format = parseFormat(o.output);
  if (format === "table") throw new CliError("-o table: schema prints a JSON Schema: json or yaml", EXIT.usage);
  // zod and yaml are this command's alone: not loaded for the others of this module.
  const [{ specJsonSchema }, { stringify }] = await Promise.all([import("../../shared/spec/json-schema.js"), import("yaml")]);
  if (format === "yaml") process.stdout.write(stringify(specJsonSchema()));
  else process.stdout.write(JSON.stringify(specJsonSchema(), null, 2) + "\n");
}
