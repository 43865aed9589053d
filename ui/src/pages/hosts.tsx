import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { canOperate, post, useLive, useSession } from "../api";
import type { BerthEvent, Host, HostsResponse } from "../types";
import { ago, Badge, bytes, ConfirmButton, EventList, Loading, Sparkline, timeLeft } from "../ui";

/** A certificate this close to its end is shown in the warning colour (renewal normally happens well before). */
export const CERT_WARN_MS = 7 * 24 * 3600 * 1000;

/** The host certificate's time left, in the warning colour within CERT_WARN_MS. */
function CertLeft({ h, now }: { h: Host; now: number }) {
  const warn = h.cert_expires_ms > 0 && h.cert_expires_ms - now < CERT_WARN_MS;
  return (
    <span class={warn ? "warn-text" : ""} data-testid="cert-left" data-warn={warn ? "1" : "0"} title={h.cert_expires_ms ? `certificate ${h.cert_serial} valid until ${new Date(h.cert_expires_ms).toISOString()}` : "expiry unknown (joined before it was kept)"}>
      {timeLeft(h.cert_expires_ms, now)}
    </span>
  );
}

const hostname = (h: Host): string => String(h.facts?.["hostname"] ?? h.id);
const pct = (used: number, total: number): number => (total > 0 ? (used / total) * 100 : 0);

type Key = "hostname" | "status" | "address" | "service" | "cpu" | "mem" | "disk" | "heartbeat" | "cert" | "member";
const sortValue = (h: Host, k: Key): string | number => {
  switch (k) {
    case "hostname":
      return hostname(h);
    case "status":
      return h.status;
    case "address":
      return h.address.split(".").map((p) => p.padStart(3, "0")).join(".");
    case "service":
      return h.service;
    case "cpu":
      return h.usage?.cpu_percent ?? -1;
    case "mem":
      return h.usage ? pct(h.usage.memory_used_bytes, h.usage.memory_total_bytes) : -1;
    case "disk":
      return h.usage ? pct(h.usage.disk_used_bytes, h.usage.disk_total_bytes) : -1;
    case "heartbeat":
      return h.last_heartbeat_ms;
    case "cert":
      return h.cert_expires_ms || Number.MAX_SAFE_INTEGER;
    case "member":
      return h.member;
    default: {
      const never: never = k;
      return never;
    }
  }
};

export function HostsPage() {
  const { data, error } = useLive<HostsResponse>("/api/hosts");
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: "hostname", desc: false });
  if (!data) return <Loading error={error} />;
  // In a controller group, which member holds each host's stream (a lone controller: nothing to show).
  const group = data.hosts.some((h) => h.member);
  const f = filter.trim().toLowerCase();
  const rows = data.hosts
    .filter((h) => !f || [hostname(h), h.id, h.status, h.address, h.service, ...Object.entries(h.labels).map(([k, v]) => `${k}=${v}`)].some((s) => s.toLowerCase().includes(f)))
    .sort((a, b) => {
      const x = sortValue(a, sort.key);
      const y = sortValue(b, sort.key);
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
  const th = (key: Key, label: string) => (
    <th class="sortable" onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : false })} aria-sort={sort.key === key ? (sort.desc ? "descending" : "ascending") : "none"}>
      {label}
      {sort.key === key ? (sort.desc ? " ▾" : " ▴") : ""}
    </th>
  );
  return (
    <section>
      <h2>Hosts</h2>
      <input class="filter" type="search" placeholder="filter: name, status, label, address, service" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} aria-label="filter hosts" />
      <table class="table" data-testid="hosts">
        <thead>
          <tr>
            {th("hostname", "host")}
            {th("status", "status")}
            <th>labels</th>
            {th("address", "address")}
            {th("service", "service")}
            {th("cpu", "cpu")}
            {th("mem", "memory")}
            {th("disk", "disk")}
            {th("heartbeat", "last heartbeat")}
            {th("cert", "certificate")}
            {group && th("member", "controller")}
          </tr>
        </thead>
        <tbody>
          {rows.map((h) => (
            <tr key={h.id} data-host={h.id} data-status={h.status}>
              <td>
                <a href={`#/hosts/${h.id}`}>{hostname(h)}</a>
                <div class="muted small">{h.id}</div>
              </td>
              <td>
                <Badge value={h.status} />
              </td>
              <td class="labels">{Object.entries(h.labels).map(([k, v]) => <span key={k} class="label">{`${k}=${v}`}</span>)}</td>
              <td>{h.address}</td>
              <td>
                {h.service ? (
                  <a href={`#/services/${h.service.replace(/-\d+$/, "")}`}>{h.service}</a>
                ) : h.may_still_run.length ? (
                  <span class="warn-text" title="replaced while this host was down; if it was only cut off, these still run until it is back">{h.may_still_run.join(", ")}?</span>
                ) : (
                  <span class="muted">–</span>
                )}
              </td>
              <td><Sparkline samples={h.usage_history ?? []} pick={(s) => s.cpu} label="cpu %" /></td>
              <td><Sparkline samples={h.usage_history ?? []} pick={(s) => s.mem} label="memory %" /></td>
              <td><Sparkline samples={h.usage_history ?? []} pick={(s) => s.disk} label="disk %" /></td>
              <td class="nowrap">{ago(h.last_heartbeat_ms, data.now_ms)}</td>
              <td class="nowrap">
                <CertLeft h={h} now={data.now_ms} />
              </td>
              {group && <td data-testid="member">{h.member || <span class="muted">–</span>}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Facts({ facts }: { facts: Host["facts"] & object }) {
  const show = (v: unknown): string => (typeof v === "object" ? JSON.stringify(v) : String(v));
  return (
    <dl class="facts">
      {Object.entries(facts).map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{k.endsWith("_bytes") && typeof v === "number" ? bytes(v) : Array.isArray(v) && v.length > 0 && typeof v[0] === "object" ? <pre class="small">{v.map((x) => show(x)).join("\n")}</pre> : show(v)}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

export function HostPage({ id }: { id: string }) {
  const me = useSession();
  const { data, error, reload } = useLive<{ host: Host; events: BerthEvent[] }>(`/api/hosts/${encodeURIComponent(id)}`);
  if (!data) return <Loading error={error} />;
  const h = data.host;
  const name = hostname(h);
  const act = (action: string) => () => post(`/api/hosts/${encodeURIComponent(h.id)}/${action}`).then(reload);
  return (
    <section>
      <h2>
        {name} <Badge value={h.status} />
      </h2>
      <p class="muted">
        {h.id} · {h.address} · joined {ago(h.joined_at_ms)} · last heartbeat {ago(h.last_heartbeat_ms)}
      </p>
      <p>
        certificate <CertLeft h={h} now={Date.now()} />
        {h.cert_serial && <span class="muted small"> · serial {h.cert_serial}{h.cert_unconfirmed ? " (issued; the agent has not yet confirmed storing it)" : h.connected_cert_serial && h.connected_cert_serial !== h.cert_serial ? ` (stream still on ${h.connected_cert_serial} until it reconnects)` : ""}</span>}
        {h.member && <span data-testid="member"> · stream held by controller {h.member}</span>}
      </p>
      {canOperate(me) && (
        <div class="actions" data-testid="host-actions">
          {!h.cordoned && <ConfirmButton label="Cordon" title={`Cordon ${name}`} what={`No new instance is placed on ${name}; what runs there keeps running.`} run={act("cordon")} />}
          {h.cordoned && <ConfirmButton label="Uncordon" title={`Uncordon ${name}`} what={`${name} takes new instances again (a drain in progress is cancelled).`} run={act("uncordon")} />}
          <ConfirmButton label="Drain" title={`Drain ${name}`} what={`${name} is cordoned and its instance${h.service ? ` (${h.service})` : ""} moves to another host: a new copy starts there first, then this one stops.`} run={act("drain")} danger />
        </div>
      )}
      <h3>Instance</h3>
      <p>{h.service ? <a href={`#/services/${h.service.replace(/-\d+$/, "")}`}>{h.service}</a> : <span class="muted">none</span>}</p>
      <h3>Usage (last minutes)</h3>
      <p>
        cpu <Sparkline samples={h.usage_history ?? []} pick={(s) => s.cpu} label="cpu %" /> memory <Sparkline samples={h.usage_history ?? []} pick={(s) => s.mem} label="memory %" /> disk{" "}
        <Sparkline samples={h.usage_history ?? []} pick={(s) => s.disk} label="disk %" />
      </p>
      <h3>Labels</h3>
      <p class="labels">{Object.entries(h.labels).map(([k, v]) => <span key={k} class="label">{`${k}=${v}`}</span>)}</p>
      <h3>Facts</h3>
      {h.facts ? <Facts facts={h.facts} /> : <p class="muted">none reported</p>}
      <h3>Events</h3>
      <EventList events={[...data.events].reverse()} />
    </section>
  );
}
