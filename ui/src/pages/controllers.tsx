/**
 * The control plane, as `berth controllers` shows it: each member, which leads and
 * since when, whether it reaches the store (its own answer: a member cut off from
 * etcd says so itself), its agents; the members gone (lost, or left cleanly) until they
 * return or are forgotten; each etcd endpoint's health; and first, in red, the warnings
 * the CLI prints (etcd without its quorum, a member cut off, no leader).
 */
import { useLive } from "../api";
import type { ControllerMember, ControllersResponse } from "../types";
import { ago, Badge, bytes, Loading } from "../ui";

/** A member's STORE cell, as the CLI's (cli/run/controllers.ts storeCell). */
function StoreCell({ m, now }: { m: ControllerMember; now: number }) {
  switch (m.store_state) {
    case "ok":
      return <Badge value="ok" />;
    case "unreachable":
      return (
        <span title={`since ${new Date(m.store_unreachable_since_ms).toISOString()}: ${m.store_error}`}>
          <Badge value="unreachable" /> for {ago(m.store_unreachable_since_ms, now).replace(/ ago$/, "")}
        </span>
      );
    default:
      return <span class="warn-text" title={m.store_error}>{m.store_error.startsWith("no answer") ? "no answer" : "unknown"}</span>;
  }
}

/** The warnings, if any: the same lines as `berth controllers`; `link`: with a way to the Controllers page. */
export function ControllerWarnings({ warnings, link = false }: { warnings: string[]; link?: boolean }) {
  if (warnings.length === 0) return null;
  return (
    <div class="banner warn column" data-testid="controller-warnings" role="alert">
      {warnings.map((w) => (
        <div key={w}>{w}</div>
      ))}
      {link && <a href="#/controllers">the controllers →</a>}
    </div>
  );
}

export function ControllersPage() {
  const { data, error } = useLive<ControllersResponse>("/api/controllers");
  if (!data) return <Loading error={error} />;
  const now = data.now_ms;
  return (
    <section>
      <h2>Controllers</h2>
      <ControllerWarnings warnings={data.warnings} />
      <table class="table" data-testid="controllers">
        <thead>
          <tr>
            <th>Member</th>
            <th>Address</th>
            <th>Role</th>
            <th>Store</th>
            <th>Agents</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {data.members.map((m) => (
            <tr key={m.id} data-member={m.id} class={m.store_state === "unreachable" ? "warn" : ""}>
              <td>
                {m.id}
                {m.self && <span class="muted small" title="the member that answered"> (this one)</span>}
              </td>
              <td>{m.address}</td>
              <td>{m.leader ? `leader for ${ago(data.leader_since_ms, now).replace(/ ago$/, "")}` : "member"}</td>
              <td data-testid="store">
                <StoreCell m={m} now={now} />
              </td>
              <td>{m.agents}</td>
              <td>up {ago(m.started_at_ms, now).replace(/ ago$/, "")}</td>
            </tr>
          ))}
          {/* Members gone (not registered now), as `berth controllers` lists them: until they come back or are forgotten. */}
          {data.gone.map((m) => (
            <tr key={`gone-${m.id}`} data-member={m.id} data-gone={m.left ? "left" : "lost"} class={m.left ? "muted" : "warn"}>
              <td>{m.id}</td>
              <td>{m.address}</td>
              <td title={Number(m.gone_since_ms) ? `since ${new Date(Number(m.gone_since_ms)).toISOString()}` : ""}>
                {m.left ? `left ${ago(Number(m.gone_since_ms), now)}` : Number(m.gone_since_ms) ? <><Badge value="lost" /> {ago(Number(m.gone_since_ms), now)}</> : "not registered"}
              </td>
              <td>-</td>
              <td>-</td>
              <td>-</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.gone.length > 0 && (
        <p class="muted small" data-testid="gone-hint">
          A member gone rejoins when it is started again; one removed for good stops showing after <code>berth controllers forget ID</code> (admin), or by itself 24 h after it left (72 h after it was lost).
        </p>
      )}
      {data.store === "etcd" ? (
        <table class="table" data-testid="etcd">
          <thead>
            <tr>
              <th>etcd endpoint</th>
              <th>Health</th>
              <th>Version</th>
              <th></th>
              <th>DB size</th>
            </tr>
          </thead>
          <tbody>
            {data.etcd.map((e) => (
              <tr key={e.endpoint} class={e.healthy ? "" : "warn"}>
                <td>{e.endpoint}</td>
                <td>
                  <Badge value={e.healthy ? "healthy" : "unhealthy"} />
                </td>
                <td>{e.healthy ? e.version : e.error}</td>
                <td>{e.is_leader ? "raft leader" : ""}</td>
                <td>{e.healthy ? bytes(e.db_size_bytes) : "-"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted" data-testid="store-kind">
          store: LevelDB (a lone controller)
        </p>
      )}
    </section>
  );
}
