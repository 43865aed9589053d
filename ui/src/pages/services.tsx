import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { useLive, useStream } from "../api";
import type { BerthEvent, Endpoints, Rollout, ServiceRevision, ServicesResponse, ServiceStatus } from "../types";
import { ago, Badge, EventList, Loading, time } from "../ui";
import { serviceHealth } from "./overview";
import { RolloutControls, RolloutProgress } from "./rollouts";

export function ServicesPage() {
  const { data, error } = useLive<ServicesResponse>("/api/services");
  if (!data) return <Loading error={error} />;
  return (
    <section>
      <h2>Services</h2>
      <table class="table" data-testid="services">
        <thead>
          <tr>
            <th>service</th>
            <th>health</th>
            <th>healthy / wanted</th>
            <th>revision</th>
            <th>artifact</th>
            <th>not placed</th>
          </tr>
        </thead>
        <tbody>
          {data.services.map((s) => (
            <tr key={s.name} data-service={s.name}>
              <td>
                <a href={`#/services/${encodeURIComponent(s.name)}`}>{s.name}</a>
              </td>
              <td>
                <Badge value={serviceHealth(s)} />
              </td>
              <td data-testid="healthy">
                {s.healthy}/{s.desired}
              </td>
              <td>{s.revision}</td>
              <td class="small">{s.artifact}</td>
              <td class="small">{s.unplaced.join("; ") || (s.reconcile_error?.message ?? "")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!data.services.length && <p class="muted">No services: `berth apply -f` one.</p>}
    </section>
  );
}

function Logs({ service, hosts }: { service: string; hosts: { host: string; instance: string }[] }) {
  const [host, setHost] = useState<string | null>(null);
  const [lines, setLines] = useState<string[]>([]);
  useStream<{ host: string; instance: string; data: string }>(host === null ? null : `/api/watch/logs/${encodeURIComponent(service)}?host=${encodeURIComponent(host)}&tail=100`, (c) =>
    setLines((l) => [...l, ...c.data.split("\n").filter((x) => x !== "").map((x) => `${c.instance}: ${x}`)].slice(-1000)),
  );
  return (
    <div>
      <select
        aria-label="instance to follow"
        onChange={(e) => {
          setLines([]);
          const v = (e.target as HTMLSelectElement).value;
          setHost(v === "-" ? null : v);
        }}
      >
        <option value="-">choose an instance to follow its log…</option>
        {hosts.map((h) => (
          <option key={h.host} value={h.host}>
            {h.instance} on {h.host}
          </option>
        ))}
        <option value="">every instance</option>
      </select>
      {host !== null && <pre class="logs" data-testid="logs">{lines.join("\n") || "waiting for output…"}</pre>}
    </div>
  );
}

/** The endpoints in service, live from the watch `berth endpoints -w` and `berth lb` follow, and what each load balancer applied. */
function EndpointList({ service }: { service: string }) {
  const [e, setE] = useState<Endpoints | null>(null);
  useStream<Endpoints>(`/api/watch/endpoints/${encodeURIComponent(service)}`, setE);
  if (!e) return <p class="muted">…</p>;
  return (
    <div>
      {e.endpoints.length ? (
        <table class="table" data-testid="endpoints">
          <thead>
            <tr>
              <th>instance</th>
              <th>host</th>
              <th>endpoint</th>
              <th>revision</th>
            </tr>
          </thead>
          <tbody>
            {e.endpoints.map((x) => (
              <tr key={x.instance} data-instance={x.instance}>
                <td>{x.instance}</td>
                <td>
                  <a href={`#/hosts/${x.host}`}>{x.host}</a>
                </td>
                <td data-testid="endpoint">{x.port ? `${x.address}:${x.port}` : x.address}</td>
                <td>{x.revision}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted" data-testid="endpoints">
          none in service
        </p>
      )}
      {e.lbs.length > 0 && (
        <table class="table" data-testid="lbs">
          <thead>
            <tr>
              <th>load balancer</th>
              <th>kind</th>
              <th>applied</th>
              <th>servers</th>
              <th>at</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {e.lbs.map((l) => (
              <tr key={l.lb} data-lb={l.lb} class={l.error || l.version !== e.version ? "warn" : ""}>
                <td>{l.lb}</td>
                <td>{l.kind}</td>
                <td>{l.version === e.version ? "this list" : l.version ? `older (${l.version})` : "none yet"}</td>
                <td>{l.servers}</td>
                <td class="nowrap">{time(l.applied_at_ms)}</td>
                <td class="small">{l.error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The revisions the controller keeps (`berth history`), newest first; each spec behind a click. */
function Revisions({ revisions }: { revisions: ServiceRevision[] }) {
  const what = (r: ServiceRevision): string => (!r.changed_known ? "(the revision it replaced is no longer kept)" : r.previous_revision === 0 ? "created" : r.changed.join(", ") || "(same spec)");
  return (
    <table class="table" data-testid="revisions">
      <thead>
        <tr>
          <th>revision</th>
          <th>replaced</th>
          <th>environment</th>
          <th>changed</th>
        </tr>
      </thead>
      <tbody>
        {revisions.map((r) => (
          <tr key={r.revision} data-revision={r.revision} class={r.current ? "current" : ""}>
            <td>
              {r.revision}
              {r.current && <span class="muted small"> current</span>}
            </td>
            <td>{r.previous_revision || "–"}</td>
            <td>{r.environment || "–"}</td>
            <td class="small">
              <details>
                <summary data-testid="changed">{what(r)}</summary>
                <pre class="small">{r.spec_yaml}</pre>
              </details>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ServicePage({ name }: { name: string }) {
  const { data, error, reload } = useLive<{ status: ServiceStatus; spec_yaml: string; rollout: Rollout | null; events: BerthEvent[]; revisions: ServiceRevision[] }>(`/api/services/${encodeURIComponent(name)}`);
  const [live, setLive] = useState<Rollout | null>(null);
  // The rollout's progress comes from the same watch as `berth rollout status -w`.
  useStream<Rollout>(`/api/watch/rollout/${encodeURIComponent(name)}`, setLive);
  if (!data) return <Loading error={error} />;
  const s = data.status;
  const rollout = live ?? data.rollout;
  const history = data.events.filter((e) => /^(service|rollout)\./.test(e.type)).reverse();
  const placed = s.instances.filter((i) => i.host).map((i) => ({ host: i.host, instance: i.instance }));
  return (
    <section>
      <h2>
        {s.name} <span class="muted">revision {s.revision}</span>
      </h2>
      {s.reconcile_error && <p class="error">{s.reconcile_error.message}</p>}
      <h3>Endpoints</h3>
      <EndpointList service={s.name} />
      <h3>Instances</h3>
      <table class="table" data-testid="instances">
        <thead>
          <tr>
            <th>instance</th>
            <th>host</th>
            <th>state</th>
            <th>epoch</th>
            <th>revision</th>
            <th>restarts</th>
            <th>health detail</th>
          </tr>
        </thead>
        <tbody>
          {s.instances.map((i) => (
            <Fragment key={i.instance}>
              <tr data-instance={i.instance} data-host={i.host} data-state={i.state}>
                <td>{i.instance}</td>
                <td>{i.host ? <a href={`#/hosts/${i.host}`}>{i.host}</a> : <span class="muted">–</span>}{i.host_address && <div class="muted small">{i.host_address}</div>}</td>
                <td>
                  <Badge value={i.state} />
                  {i.since_ms ? <div class="muted small">{ago(i.since_ms, s.now_ms)}</div> : null}
                </td>
                <td>{i.epoch}</td>
                <td>{i.revision}</td>
                <td>{i.restarts}</td>
                <td class="small">{[i.detail, i.reason, i.moving_to ? `moving to ${i.moving_to}` : ""].filter(Boolean).join("; ")}</td>
              </tr>
              {i.left_on.map((l) => (
                <tr key={`${l.host}/${l.epoch}`} data-left-on={l.host}>
                  <td colSpan={7} class="small warn-text">
                    may still run on <a href={`#/hosts/${l.host}`}>{l.host}</a> (epoch {l.epoch}, replaced {ago(l.at_ms, s.now_ms)}): that host was judged down, not seen to stop; if it was only cut off, this copy serves whoever still reaches it until the host is back and its agent stops it
                  </td>
                </tr>
              ))}
              {i.install_tail && (
                <tr>
                  <td colSpan={7}>
                    <details open={i.state === "failed"}>
                      <summary>{i.install_tail.startsWith("[berth] last failure on ") ? "the last failed run" : "install output"}</summary>
                      <pre class="small">{i.install_tail}</pre>
                    </details>
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      <h3>Rollout</h3>
      {rollout?.exists ? (
        <div class="card">
          <RolloutProgress r={rollout} />
          <RolloutControls r={rollout} onDone={reload} />
        </div>
      ) : (
        <p class="muted">No rollout yet.</p>
      )}
      <h3>Log</h3>
      <Logs service={s.name} hosts={placed} />
      <h3>Spec</h3>
      <pre class="spec" data-testid="spec">{data.spec_yaml}</pre>
      <h3>Revision history</h3>
      <p class="muted small">When and by whom: the events below, while the event log keeps them.</p>
      <Revisions revisions={data.revisions} />
      <h3>Service events</h3>
      <EventList events={history} testid="history" />
    </section>
  );
}
