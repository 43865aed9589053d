import { canOperate, post, useLive, useSession } from "../api";
import type { Rollout } from "../types";
import { ago, Badge, ConfirmButton, Loading } from "../ui";
import { rolloutActive } from "./overview";

/** The controls a rollout allows now, each saying what it will do. */
export function RolloutControls({ r, onDone }: { r: Rollout; onDone: () => void }) {
  const me = useSession();
  if (!canOperate(me)) return null;
  const left = r.total - r.done;
  const act = (action: string) => () => post<Rollout>(`/api/services/${encodeURIComponent(r.service)}/rollout`, { action }).then(onDone);
  const to = `${r.service} to revision ${r.to_revision}`;
  return (
    <div class="actions" data-testid={`rollout-actions-${r.service}`}>
      {r.status === "awaiting-promotion" && (
        <ConfirmButton label="Promote" title={`Promote ${to}`} what={`The canary looks good: revision ${r.to_revision} replaces the other ${left} instance(s) of ${r.service}, batch by batch.`} run={act("promote")} />
      )}
      {(r.status === "running" || r.status === "awaiting-promotion" || r.status === "reverting") && (
        <ConfirmButton label="Pause" title={`Pause the rollout of ${to}`} what={`No further instance of ${r.service} is replaced until you resume; the ${r.done} already on revision ${r.to_revision} keep running, and so do the ${left} on the old one.`} run={act("pause")} />
      )}
      {r.status === "paused" && (
        <ConfirmButton label="Resume" title={`Resume the rollout of ${to}`} what={`The rollout goes on: the ${left} instance(s) of ${r.service} not yet on revision ${r.to_revision} are replaced, batch by batch.`} run={act("resume")} />
      )}
      {r.current_revision > 1 && (
        <ConfirmButton label="Undo" title={`Undo ${r.service}`} what={`${r.service} goes back to the revision before ${r.current_revision}: a new rollout replaces every instance with it.`} run={act("undo")} danger />
      )}
      <ConfirmButton label="Restart" title={`Restart ${r.service}`} what={`Every instance of ${r.service} is replaced by a fresh copy of the same spec (a new revision), batch by batch; the service stays up if it has more than one instance.`} run={act("restart")} danger />
    </div>
  );
}

export function RolloutProgress({ r }: { r: Rollout }) {
  const share = r.total ? Math.round((r.done / r.total) * 100) : 0;
  return (
    <div class="rollout" data-testid={`rollout-${r.service}`} data-status={r.status}>
      <div class="rollout-head">
        <a href={`#/services/${encodeURIComponent(r.service)}`}>{r.service}</a> revision {r.from_revision} → {r.to_revision} <Badge value={r.status} />
        {r.reason && <span class="muted"> {r.reason}</span>}
        <span class="muted small"> started {ago(r.started_at_ms)}</span>
      </div>
      <div class="progress" role="progressbar" aria-valuenow={r.done} aria-valuemin={0} aria-valuemax={r.total}>
        <progress max={100} value={share} />
        <span data-testid="rollout-done">
          {r.done}/{r.total} done
        </span>
      </div>
      <div class="slots">
        {r.slots.map((s) => (
          <span key={s.slot} class={`slot ${s.done ? "done" : s.in_batch ? "batch" : ""}`} title={`${s.instance} on ${s.host || "–"}: revision ${s.revision}, ${s.phase}${s.surge_host ? `; new copy on ${s.surge_host}: ${s.surge_phase}` : ""}`}>
            {s.instance} r{s.revision} {s.phase}
          </span>
        ))}
      </div>
    </div>
  );
}

export function RolloutsPage() {
  const { data, error, reload } = useLive<{ rollouts: Rollout[] }>("/api/rollouts", 2000);
  if (!data) return <Loading error={error} />;
  const active = data.rollouts.filter(rolloutActive);
  const ended = data.rollouts.filter((r) => !rolloutActive(r)).sort((a, b) => b.ended_at_ms - a.ended_at_ms);
  return (
    <section>
      <h2>Rollouts</h2>
      <h3>In progress</h3>
      {active.length ? (
        active.map((r) => (
          <div key={r.service} class="card">
            <RolloutProgress r={r} />
            <RolloutControls r={r} onDone={reload} />
          </div>
        ))
      ) : (
        <p class="muted" data-testid="no-rollouts">No rollout in progress.</p>
      )}
      <h3>Last rollouts</h3>
      {ended.map((r) => (
        <div key={r.service} class="card">
          <RolloutProgress r={r} />
          <RolloutControls r={r} onDone={reload} />
        </div>
      ))}
    </section>
  );
}
