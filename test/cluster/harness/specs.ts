/**
 * Spec files for the cluster tests' own service (test/fixtures/svc/server.js: its
 * version and instance in every answer, health that can be made to fail). One
 * builder, so every test file states only what it changes.
 */
import { resolve } from "node:path";
import { ROOT } from "./cluster.js";

export const SVC = resolve(ROOT, "test/fixtures/svc");

export interface SvcSpec {
  instances?: number;
  args?: string[];
  /** Merged over PORT=8080. */
  env?: Record<string, string>;
  /** @default "5s" */
  stopTimeout?: string;
  /** false: no health block. @default interval 300ms, timeout 250ms */
  health?: false | { interval?: string; timeout?: string; healthyThreshold?: number; unhealthyThreshold?: number };
  /** The update block, as flow-style YAML values. */
  update?: Record<string, string | number | boolean>;
  /** Appended as is (a failover block, constraints …). */
  extra?: string;
}

const flow = (o: Record<string, string | number | boolean>, quote: boolean): string =>
  `{${Object.entries(o)
    .map(([k, v]) => ` ${k}: ${quote || typeof v === "string" ? `"${v}"` : String(v)}`)
    .join(",")} }`;

export function svcSpec(name: string, o: SvcSpec = {}): string {
  const h = o.health === false ? undefined : { interval: "300ms", timeout: "250ms", ...o.health };
  const health = h
    ? `health:
  http: { port: 8080, path: /healthz }
  interval: ${h.interval}
  timeout: ${h.timeout}
${h.healthyThreshold !== undefined ? `  healthyThreshold: ${h.healthyThreshold}\n` : ""}${h.unhealthyThreshold !== undefined ? `  unhealthyThreshold: ${h.unhealthyThreshold}\n` : ""}`
    : "";
  return `name: ${name}
artifact: ${SVC}
run:
  command: node
  args: [${(o.args ?? ["server.js"]).join(", ")}]
  env: ${flow({ PORT: "8080", ...o.env }, true)}
  stopTimeout: ${o.stopTimeout ?? "5s"}
instances: ${o.instances ?? 1}
${health}${o.update ? `update: ${flow(o.update, false)}\n` : ""}${o.extra ?? ""}`;
}

/** A service that prints `tick <instance>` five times a second and nothing else (no health check): output to follow. */
export function tickSpec(name: string, instances: number): string {
  return `name: ${name}
artifact: ${SVC}
run:
  command: sh
  args: [-c, "while true; do echo tick $$BERTH_INSTANCE; sleep 0.2; done"]
instances: ${instances}
`;
}

/** Whether followed output (from a point on) says `instance`'s host is followed again, and has its lines after that. */
export function againFollowed(out: string, host: string, instance: string, pid: number): boolean {
  const at = out.indexOf(`host ${host} is reachable again: following ${instance} (pid ${pid}) there again`);
  return at >= 0 && out.slice(at).includes(`tick ${instance}`);
}
