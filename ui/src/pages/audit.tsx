import { useLive } from "../api";
import type { AuditEntry } from "../types";
import { Loading, time } from "../ui";

export function AuditPage() {
  const { data, error } = useLive<{ entries: AuditEntry[] }>("/api/audit", 10_000);
  if (!data) return <Loading error={error} />;
  return (
    <section>
      <h2>Audit</h2>
      <table class="table" data-testid="audit">
        <thead>
          <tr>
            <th>time</th>
            <th>token</th>
            <th>role</th>
            <th>call</th>
            <th>request</th>
            <th>result</th>
            <th>from</th>
          </tr>
        </thead>
        <tbody>
          {[...data.entries].reverse().map((e) => (
            <tr key={e.seq} class={e.code ? "warn" : ""}>
              <td class="nowrap">{time(e.time_ms)}</td>
              <td>{e.token_id}</td>
              <td>{e.role}</td>
              <td>{e.method}</td>
              <td class="small">{e.request}</td>
              <td class="small">{e.code ? `refused (${e.code}): ${e.error}` : "ok"}{e.count > 1 ? ` ×${e.count}` : ""}</td>
              <td class="small">{e.peer}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
