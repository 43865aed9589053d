/**
 * Pushes each agent stream this member holds its host's assignment whenever the
 * records change — whoever changed them: this member's own commit, or another
 * member's (the leader's placement) arriving through the store watch
 * (ServiceState.follow). Assignments derive from the records alone, so a change
 * that leaves a host's the same sends it nothing — unless it marks the host's copy as
 * given back after a self-fence (InstanceRecord.resumed): then the same assignment goes
 * again, which is what the fenced agent waits for.
 */
import type { ServiceState } from "../services/state.js";
import type { HostRegistry } from "../hosts/registry.js";
import { assignmentFor, pushKey, type SecretValues } from "../services/assignment.js";

export class AssignmentPusher {
  private readonly lastSent = new Map<string, string>();
  /** The records' version at the last push. */
  private pushedVersion = -1;
  private scheduled = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly state: ServiceState,
    private readonly registry: Pick<HostRegistry, "live">,
    private readonly secrets?: SecretValues,
  ) {
    // The changes of one txn arrive one key at a time: push once, after them all.
    this.unsubscribe = state.onChange(() => {
      if (this.scheduled) return;
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.push();
      });
    });
  }

  /** Sends each connected host its assignment when it differs from what it was last sent. */
  push(): void {
    if (this.state.version === this.pushedVersion) return;
    this.pushedVersion = this.state.version;
    for (const [id, live] of this.registry.live) {
      if (!live.send) continue;
      const a = assignmentFor(this.state, id, this.secrets);
      if (!a) continue;
      const json = pushKey(this.state, id, a);
      if (this.lastSent.get(id) === json) continue;
      this.lastSent.set(id, json);
      live.send({ assignment: a });
    }
  }

  /** On (re)connect the host gets its assignment whatever it was sent before. */
  sendTo(hostId: string): void {
    const live = this.registry.live.get(hostId);
    if (!live?.send) return;
    const a = assignmentFor(this.state, hostId, this.secrets);
    if (!a) return;
    this.lastSent.set(hostId, pushKey(this.state, hostId, a));
    live.send({ assignment: a });
  }

  /** The secrets changed: assignments are derived again, though no record did. */
  secretsChanged(): void {
    this.pushedVersion = -1;
    this.push();
  }

  close(): void {
    this.unsubscribe();
  }
}
