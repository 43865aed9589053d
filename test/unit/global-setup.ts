/**
 * Unit tests run real supervisors as root where the machine allows, and each run gets a
 * cgroup (agent/supervisor/supervisor.ts); a test that kills its service itself leaves that
 * cgroup behind, empty. The run removes those at its end (harness/cgroups.ts).
 */
import { removeNewServiceCgroups, serviceCgroups } from "../cluster/harness/cgroups.js";

export default function setup(): () => Promise<void> {
  const before = serviceCgroups();
  return () => removeNewServiceCgroups(before);
}
