import { useLive, canOperate, post, useSession } from "../api";
import type { BerthEvent, ControllersResponse, HostsResponse, Rollout, ServicesResponse, ServiceSummary } from "../types";
import { ControllerWarnings } from "./controllers";
import { ConfirmButton, EventList, isWarning, Loading } from "../ui";

interface Overview {
  hosts: HostsResponse;
  services: ServicesResponse;
  rollouts: Rollout[];
  events: BerthEvent[];
}

export const rolloutActive = (r: Rollout): boolean => r.status !== "succeeded" && r.status !== "failed" && r.status !== "";

/** healthy: every wanted instance is; failed: none is; degraded: in between, or it does not converge. */
export function serviceHealth(s: ServiceSummary): "healthy" | "degraded" | "failed" {
  if (s.desired > 0 && s.healthy === 0) return "failed";
  if (s.healthy < s.desired || s.reconcile_error) return "degraded";
  return "healthy";
}

function Counter({ id, label, value, tone }: { id: string; label: string; value: number | string; tone?: string }) {
  return (
    <div class={`counter ${tone ?? ""}`} data-testid={`counter-${id}`}>
      <div class="counter-value">{value}</div>
      <div class="counter-label">{label}</div>
    </div>
  );
}

export function OverviewPage() {
  const me = useSession();
  const { data, error, reload } = useLive<Overview>("/api/overview");
  // Apart: a member that does not answer makes this slower (up to its deadline), never the counters.
  const controllers = useLive<ControllersResponse>("/api/controllers").data;
  if (!data) return <Loading error={error} />;
  const hs = data.hosts.hosts;
  const count = (f: (s: string) => boolean): number => hs.filter((h) => f(h.status)).length;
  const health = data.services.services.map(serviceHealth);
  const failover = data.hosts.failover;
  // Warnings first, then the rest; each group newest first.
  const events = [...data.events].reverse();
  const recent = [...events.filter(isWarning), ...events.filter((e) => !isWarning(e))].slice(0, 30);
  return (
    <section>
      <h2>Overview</h2>
      {controllers && <ControllerWarnings warnings={controllers.warnings} link />}
      {failover?.paused && (
        <div class="banner warn" data-testid="failover-paused">
          Failover is paused: {failover.reason}
          {canOperate(me) && (
            <ConfirmButton
              label="Resume failover"
              title="Resume failover"
              what="The controller replaces the instances of hosts that are down again, from now on. Do it once the cause (a network split, a mass reboot) is understood."
              run={() => post("/api/failover/resume").then(reload)}
            />
          )}
        </div>
      )}
      <div class="counters">
        <Counter id="hosts-ready" label="hosts ready" value={count((s) => s === "ready")} tone="ok" />
        <Counter id="hosts-down" label="hosts down" value={count((s) => s === "down")} tone={count((s) => s === "down") ? "bad" : ""} />
        <Counter id="hosts-cordoned" label="hosts cordoned" value={count((s) => s === "cordoned" || s === "draining")} />
        <Counter id="services-healthy" label="services healthy" value={health.filter((h) => h === "healthy").length} tone="ok" />
        <Counter id="services-degraded" label="services degraded" value={health.filter((h) => h === "degraded").length} tone={health.includes("degraded") ? "warn" : ""} />
        <Counter id="services-failed" label="services failed" value={health.filter((h) => h === "failed").length} tone={health.includes("failed") ? "bad" : ""} />
        <Counter id="rollouts" label="rollouts in progress" value={data.rollouts.filter(rolloutActive).length} />
        <Counter id="failover" label="failover" value={failover?.paused ? "paused" : "active"} tone={failover?.paused ? "bad" : "ok"} />
      </div>
      <h3>Recent events</h3>
      <EventList events={recent} testid="recent-events" />
    </section>
  );
}
