/**
 * `berth lb install`: sets a load balancer host up to run `berth lb` under systemd,
 * as `berth agent install` does for agents. Writes /etc/berth/lb-SERVICE-KIND.env
 * (0600: it holds the token), the controller's CA beside it, and the unit
 * berth-lb-SERVICE-KIND.service; enables and starts it where systemd runs.
 */
import { join } from "node:path";
import type { InstallPlan } from "../run/agent-install.js";

export class LbInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LbInstallError";
  }
}

/** Quotes an argument for a systemd ExecStart= line. */
function q(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, "\\$1").replace(/%/g, "%%")}"`;
}

/** Pure: what an install writes. `args`: what follows `berth lb`, e.g. ["haproxy", "--service", "web", …]. */
export function planLbInstall(o: { args: string[]; controller: string; token: string; caPem: string; prefix: string; nodePath: string; berthMain: string }): { plan: InstallPlan; unit: string } {
  const [kind, ...rest] = o.args;
  if (kind !== "haproxy" && kind !== "nginx") throw new LbInstallError(`after --: expected haproxy or nginx, then its flags (got "${kind ?? ""}")`);
  const i = rest.indexOf("--service");
  const service = i >= 0 ? rest[i + 1] : undefined;
  if (!service || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(service)) throw new LbInstallError("after --: --service NAME is required, a service name");
  if (rest.some((a) => a === "--addr" || a.startsWith("--addr="))) throw new LbInstallError("after --: give the controller with --controller, not --addr");
  const p = (path: string): string => (o.prefix ? join(o.prefix, path) : path);
  const base = `lb-${service}-${kind}`;
  const unit = `berth-${base}.service`;
  const env = `# written by berth lb install\nBERTH_ADDR=${o.controller}\nBERTH_TOKEN=${o.token}\nBERTH_CA=/etc/berth/${base}-ca.crt\n`;
  const text = `[Unit]
Description=berth lb: keeps ${kind} in step with the endpoints of ${service}
Documentation=https://github.com/berth/berth#load-balancers
After=network-online.target ${kind}.service
Wants=network-online.target

[Service]
EnvironmentFile=/etc/berth/${base}.env
ExecStart=${[o.nodePath, o.berthMain, "lb", kind, ...rest].map(q).join(" ")}
Restart=always
RestartSec=2
Environment=NODE_ENV=production

[Install]
WantedBy=multi-user.target
`;
  return {
    unit,
    plan: {
      dirs: [
        { path: p("/etc/berth"), mode: 0o755 },
        { path: p("/etc/systemd/system"), mode: 0o755 },
      ],
      files: [
        { path: p(`/etc/berth/${base}.env`), mode: 0o600, content: env },
        { path: p(`/etc/berth/${base}-ca.crt`), mode: 0o644, content: o.caPem },
        { path: p(`/etc/systemd/system/${unit}`), mode: 0o644, content: text },
      ],
    },
  };
}
