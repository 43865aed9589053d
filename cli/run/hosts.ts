/** What `berth hosts`, `host show ID`, `failover resume`, `cordon ID`, `uncordon ID` do (descriptors: cli/commands/hosts.ts). */
import type { Command } from "commander";
import type { Host__Output } from "../../shared/gen/berth/v1/Host.js";
import { formatLabels } from "../../shared/labels.js";
import { formatDurationMs } from "../../shared/duration.js";
import { expiryState } from "../../shared/tls/cert-life.js";
import { call } from "../client.js";
import { bytes, colour, parseFormat, printData, render, statusColour, table, txt, yamlText, type Cell } from "../output.js";
import { globalsOf, withApi } from "./common.js";
import { diskFullNow } from "../../shared/disk-full.js";

function age(nowMs: number, ms: number): string {
  return ms ? `${formatDurationMs(Math.max(0, nowMs - ms))} ago` : "-";
}

/** The agent's data dir's filesystem as the host last reported it (else its root filesystem's facts); total 0: unknown. */
function diskOf(h: Host__Output): { disk_total_bytes: number; disk_used_bytes: number } {
  const u = h.usage;
  if (u && u.disk_total_bytes) return u;
  const root = h.facts?.filesystems.find((f) => f.mount === "/");
  return { disk_total_bytes: root?.size_bytes ?? 0, disk_used_bytes: root?.used_bytes ?? 0 };
}

const DISK_LOW_SHARE = 0.1;

/**
 * The DISK FREE column: "-" only when unknown (a host that reported no usage and no root
 * filesystem); "0B" is a full disk, in red with anything under 64 MiB (shared/disk-full.ts), yellow under 10 %.
 */
export function diskCell(h: Host__Output): Cell {
  const d = diskOf(h);
  if (!d.disk_total_bytes) return "-";
  const free = Math.max(0, d.disk_total_bytes - d.disk_used_bytes);
  const text = free === 0 ? "0B" : bytes(free);
  if (diskFullNow(d, false)) return colour("red", `${text} (full)`);
  return free < d.disk_total_bytes * DISK_LOW_SHARE ? colour("yellow", text) : text;
}

/** The JSON form: the wire message with times made readable alongside. */
function hostJson(h: Host__Output, nowMs: number): Record<string, unknown> {
  return { ...h, last_heartbeat_age_ms: h.last_heartbeat_ms ? nowMs - h.last_heartbeat_ms : null, cert_state: h.cert_expires_ms ? expiryState(h.cert_expires_ms, nowMs) : null };
}

/**
 * The CERT column: how long the host's certificate has left ("29d"), in yellow
 * within the warning window, "EXPIRED" in red — such a host must re-join
 * (`berth agent --rejoin`, its agent's exit message gives the command).
 */
function certCell(h: Host__Output, nowMs: number): Cell {
  if (!h.cert_expires_ms) return "-";
  const state = expiryState(h.cert_expires_ms, nowMs);
  if (state === "expired") return colour("red", "EXPIRED");
  const left = formatDurationMs(h.cert_expires_ms - nowMs);
  return state === "expiring" ? colour("yellow", left) : left;
}

export async function hosts(o: { output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = parseFormat(o.output);
  await withApi(g, async (api) => {
    const res = await call(api, api.client.ListHosts, {});
    // Stale, and said so (on stderr, so -o json stays data): heard only through this member's own streams, nothing decided meanwhile.
    if (res.store_unreachable) process.stderr.write(render(colour("yellow", txt`STALE: ${api.member} cannot reach its store: ${res.store_unreachable}. What follows is what it last knew (heartbeats of its own streams only); \`berth controllers\` shows which members reach the store`)) + "\n\n");
    if (printData(format, res.hosts.map((h) => hostJson(h, res.now_ms)))) return;
    if (res.environment) console.log(txt`environment: ${res.environment}\n`);
    if (res.failover?.paused) console.log(colour("red", txt`FAILOVER PAUSED: ${res.failover.reason} — \`berth failover resume\` once you know the hosts are really gone\n`));

    const rows = res.hosts.map((h) => [
      h.id,
      h.facts?.hostname ?? "",
      h.address,
      statusColour(h.status),
      formatLabels(h.labels) || "-",
      String(h.facts?.cpu_cores ?? "-"),
      bytes(h.facts?.memory_total_bytes ?? 0),
      diskCell(h),
      h.usage ? h.usage.load1.toFixed(2) : "-",
      age(res.now_ms, h.last_heartbeat_ms),
      certCell(h, res.now_ms),
      // A down host's copy replaced elsewhere may run on (a host cut off, not stopped): `berth host show` says more.
      h.service || (h.may_still_run.length ? colour("yellow", txt`${h.may_still_run.map((x) => x.split(" ")[0] ?? x).join(",")}? (replaced)`) : "-"),
      h.member || "-",
    ]);
    console.log(table(["ID", "HOSTNAME", "ADDRESS", "STATUS", "LABELS", "CPU", "MEMORY", "DISK FREE", "LOAD", "HEARTBEAT", "CERT", "SERVICE", "CONTROLLER"], rows));
    if (!rows.length) console.log("\nno hosts yet: `berth token create --role agent` makes a join token for `berth agent`");
  });
}

export async function hostShow(id: string, o: { output: string }, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const format = o.output === "table" ? "yaml" : parseFormat(o.output);
  await withApi(g, async (api) => {
    const h = await call(api, api.client.GetHost, { id });
    const now = Date.now();
    if (format === "json") {
      printData("json", hostJson(h, now));
      return;
    }
    const f = h.facts;
    const view = {
      id: h.id,
      status: h.status,
      address: h.address,
      connected: h.connected,
      labels: h.labels,
      joined: new Date(Number(h.joined_at_ms)).toISOString(),
      lastHeartbeat: age(now, h.last_heartbeat_ms),
      certificate: h.cert_expires_ms
        ? {
            serial: h.cert_serial,
            ...(h.cert_unconfirmed ? { stored: "not yet confirmed by the agent: it may still hold only the certificate before (a renewal whose answer was lost is asked again)" } : {}),
            expires: new Date(Number(h.cert_expires_ms)).toISOString(),
            state: expiryState(h.cert_expires_ms, now),
            ...(expiryState(h.cert_expires_ms, now) === "expired" ? { fix: "its agent cannot connect: re-join it keeping its id with `berth agent --rejoin --token-file FILE` on the host (see its agent's exit message)" } : {}),
          }
        : null,
      service: h.service || null,
      ...(h.may_still_run.length ? { mayStillRun: `${h.may_still_run.join(", ")}: replaced while this host was down; if it was only cut off, they run and serve still, until it is back and its agent stops them` } : {}),
      system: f && {
        hostname: f.hostname,
        os: `${f.os_distro} ${f.os_release}`.trim(),
        kernel: f.kernel,
        arch: f.arch,
        machine: f.virtual ? `virtual (${f.hypervisor || "unknown hypervisor"})` : "bare metal",
        vendor: [f.system_vendor, f.system_model].filter(Boolean).join(" ") || undefined,
        agent: f.agent_version,
      },
      cpu: f && { model: f.cpu_model, cores: f.cpu_cores, physicalCores: f.cpu_physical_cores, speedGHz: f.cpu_speed_ghz || undefined },
      memory: f && bytes(f.memory_total_bytes),
      disks: f?.disks.map((d) => `${d.name} ${d.type} ${bytes(d.size_bytes)}${d.model ? ` ${d.model}` : ""}`),
      filesystems: f?.filesystems.map((x) => `${x.mount} ${x.fs_type} ${bytes(x.size_bytes)} (${bytes(x.used_bytes)} used)`),
      interfaces: f?.interfaces.map((i) => `${i.name}${i.mac ? ` ${i.mac}` : ""} ${i.addresses.join(" ")}${i.internal ? " (internal)" : ""}`),
      usage: h.usage && {
        load: [h.usage.load1, h.usage.load5, h.usage.load15].map((l) => l.toFixed(2)).join(" "),
        cpu: `${h.usage.cpu_percent.toFixed(1)}%`,
        memory: `${bytes(h.usage.memory_used_bytes)} of ${bytes(h.usage.memory_total_bytes)}`,
        disk: `${bytes(h.usage.disk_used_bytes)} of ${bytes(h.usage.disk_total_bytes)}${diskFullNow(h.usage, false) ? " — full: fetches, installs, logs and state files on this host fail until space is freed" : ""}`,
      },
    };
    // Host facts are the host's word: escaped as every YAML output escapes them.
    process.stdout.write(yamlText(view));
  });
}

export async function failoverResume(_o: unknown, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  await withApi(g, async (api) => {
    const before = (await call(api, api.client.ListHosts, {})).failover;
    const st = await call(api, api.client.ResumeFailover, {});
    if (st.paused) console.log(txt`failover is still paused: ${st.reason}`);
    else if (!before?.paused) console.log("failover was not paused: nothing to resume (the guard counts host losses from now on)");
    else console.log("failover resumed: lost instances are being replaced");
  });
}

async function cordonOrUncordon(verb: "Cordon" | "Uncordon", id: string, cmd: Command): Promise<void> {
  await withApi(globalsOf(cmd), async (api) => {
    const h = await call(api, verb === "Cordon" ? api.client.Cordon : api.client.Uncordon, { id });
    console.log(txt`host ${h.id} (${h.facts?.hostname ?? "?"}) is ${h.status}`);
  });
}

export const cordon = (id: string, _o: unknown, cmd: Command): Promise<void> => cordonOrUncordon("Cordon", id, cmd);
export const uncordon = (id: string, _o: unknown, cmd: Command): Promise<void> => cordonOrUncordon("Uncordon", id, cmd);

export async function hostRemove(id: string, _o: unknown, cmd: Command): Promise<void> {
  await withApi(globalsOf(cmd), async (api) => {
    const h = await call(api, api.client.RemoveHost, { id });
    console.log(txt`host ${h.id} (${h.facts?.hostname ?? "?"}) removed: its certificate is refused from now on${h.service ? txt`, ${h.service} is being replaced on another host` : ""}${h.connected ? "; its agent is told to stop its services and exit" : ""}`);
  });
}
