/**
 * Who a service runs as (issue 13): the rules, pure, shared by the controller
 * (apply authorization, placement) and the agent (its own last word).
 *
 * Unprivileged by default, as Nomad runs tasks as `nobody` and Kubernetes' Pod
 * Security refuses root: without run.user a service runs as `berth-<service>`,
 * a system user the agent creates (no home of its own, no login shell).
 * Per service rather than `nobody`: `nobody` is shared with every other daemon
 * that uses it, so its secret files and working dir would be readable by all of
 * them, and what one service left behind on a host would belong to the next.
 *
 * A *privileged* user is one that is root in all but name: uid 0, primary group
 * 0, or a member of a group that gives root (PRIVILEGED_GROUPS). Only the agent
 * can tell (the names live in its /etc/passwd and /etc/group), so the rule has
 * two halves:
 *  - the controller knows one name, `root`: a spec with `run.user: root` is
 *    applied only with an admin token, and placed only on hosts whose agent
 *    allows it (`allowRoot: true` in agent.yaml, off by default);
 *  - the agent refuses a privileged run.user unless it is literally `root` on a
 *    host that allows root. Another privileged name (a sudoer, a docker member)
 *    is refused everywhere: it would bypass the controller's admin check, and
 *    whoever needs privilege can say `root`, which an admin then has to vet.
 */

/** The one privileged name the controller can recognise on every host. */
export const ROOT_USER = "root";

/**
 * Groups whose members are root in all but name: sudo/wheel/admin (sudo's
 * default rules), root, disk and kmem (raw devices and memory), shadow (the
 * password hashes), docker/lxd/incus-admin/libvirt (start a privileged
 * container or VM with the host's disk mounted).
 */
export const PRIVILEGED_GROUPS: readonly string[] = ["root", "sudo", "wheel", "admin", "disk", "kmem", "shadow", "docker", "lxd", "incus-admin", "libvirt"];

/** The prefix of the users the agent creates: `berth-web` for service `web`. */
export const SERVICE_USER_PREFIX = "berth-";
/** useradd's limit on a user name. */
const MAX_USER_NAME = 32;

/**
 * The user a service runs as when its spec names none: `berth-<service>`, cut to
 * useradd's 32 characters with a short hash of the full name so that two long
 * names that share a prefix never share a user.
 */
export function defaultServiceUser(service: string): string {
  const name = `${SERVICE_USER_PREFIX}${service}`;
  if (name.length <= MAX_USER_NAME) return name;
  // FNV-1a, 32-bit: stable across processes, no crypto import in a shared core.
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const tag = h.toString(16).padStart(8, "0");
  // A name must not end in "-" before the tag: strip trailing dashes of the cut.
  const head = name.slice(0, MAX_USER_NAME - tag.length - 1).replace(/-+$/, "");
  return `${head}-${tag}`;
}

/** The user a spec runs as: run.user, or the per-service default. */
export function effectiveUser(spec: { name: string; run: { user: string } }): string {
  return spec.run.user || defaultServiceUser(spec.name);
}

/** Does this spec ask to run as root (the name the controller vets)? */
export function wantsRoot(spec: { run: { user: string } }): boolean {
  return spec.run.user === ROOT_USER;
}

/** A user as a host knows it: ids and the names of every group it is in (primary included). */
export interface HostUser {
  name: string;
  uid: number;
  gid: number;
  groups: readonly string[];
}

/** Why `u` is privileged on its host ("uid 0", "member of group sudo"), or undefined when it is not. */
export function privilegeOf(u: HostUser): string | undefined {
  if (u.uid === 0) return "uid 0";
  if (u.gid === 0) return "primary group 0";
  const g = u.groups.find((x) => PRIVILEGED_GROUPS.includes(x));
  return g === undefined ? undefined : `member of group ${g}`;
}

/** What an agent knows when it decides whether to run a service as `user`. */
export interface RunAsCheck {
  /** The spec's run.user ("" = the per-service default). */
  requested: string;
  /** privilegeOf() of the user it resolved to; undefined: unprivileged. */
  privileged: string | undefined;
  /** The host's `allowRoot`. */
  allowRoot: boolean;
}

/** The agent's rule: why it will not run a service as this user, or undefined when it will. */
export function runAsRefusal(c: RunAsCheck): string | undefined {
  if (c.privileged === undefined) return undefined;
  if (c.requested === ROOT_USER) {
    return c.allowRoot
      ? undefined
      : "run.user root: this host does not allow services to run as root (allowRoot: true in its agent.yaml allows it; the apply must be made with an admin token)";
  }
  const who = c.requested || "the service's default user";
  return `run.user ${who} is privileged on this host (${c.privileged}): a service runs with privilege only as run.user: root, applied with an admin token on a host whose agent.yaml says allowRoot: true`;
}

/** The controller's rule at apply, plan and undo: why this role may not store this spec, or undefined. */
export function applyRunAsRefusal(spec: { name: string; run: { user: string } }, role: string): string | undefined {
  if (!wantsRoot(spec) || role === "admin") return undefined;
  return `${spec.name}: run.user root needs an admin token (this one is ${role || "not an admin"}), and runs only on hosts whose agent.yaml says allowRoot: true`;
}
