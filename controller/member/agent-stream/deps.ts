/**
 * What the agent-facing handlers (Join, the Connect stream, FetchArtifact) need
 * from the member that serves them.
 */
import type { Logger } from "../../../shared/log/logger.js";
import type { TokenService } from "../../auth/token-service.js";
import type { HostRegistry } from "../../hosts/registry.js";
import type { ReconcileLoop } from "../../reconcile/loop.js";
import type { ArtifactStore } from "../../artifacts/artifact-store.js";
import type { LogRouter } from "../api/log-router.js";
import type { ExecRouter } from "../api/exec-router.js";
import type { EventLog } from "../../events/event-log.js";
import type { ServiceState } from "../../services/state.js";
import type { AssignmentPusher } from "../assignments.js";
import type { ObservedInstance } from "../../services/records.js";
import type { RevokedSerials } from "../../pki/revoked.js";

export interface AgentServiceDeps {
  registry: HostRegistry;
  tokens: TokenService;
  /** The CA host certificates are signed with (read at each use: a CA rotation changes it). */
  ca: { readonly certPem: string; readonly keyPem: string };
  /**
   * The CAs to trust and how soon a host should renew, from the CA record (a CA
   * rotation, controller/pki/ca-keeper.ts). Absent: `ca` alone is trusted.
   */
  trust?: {
    trusted(): string[];
    bundlePem(): string;
    signingFingerprint(): string;
    renewWithinMs(): number;
  };
  /** Serials of removed hosts: refused at stream and artifact auth. */
  revoked?: RevokedSerials;
  /** Lifetime of the host certificates issued at join and renewal. @see DEFAULT_HOST_CERT_TTL_MS */
  certTtlMs: number;
  log: Logger;
  now: () => number;
  /** The monotonic clock for heartbeat ages. @default monoMs */
  mono?: () => number;
  heartbeatIntervalMs: number;
  ttlMs: number;
  /** Called after any host's liveness may have changed, so the detector runs now. */
  onLiveness: () => void;
  /** Kicked when what a host runs or reports changes (does nothing on a member that does not lead). */
  loop: ReconcileLoop;
  /** The records: which copies a host's Hello names are superseded. */
  state: ServiceState;
  assignments: AssignmentPusher;
  artifacts: ArtifactStore;
  /** In a group: the artifact's size once stored here, fetched from another member when this one lacks it (artifacts/replicas.ts). */
  ensureArtifact?: (sha256: string) => Promise<number | undefined>;
  logs: LogRouter;
  /** Exec sessions relayed over agent streams; they end with their host's stream. */
  execs: ExecRouter;
  events: EventLog;
  /** In a group: shares what a host reports with the other members (member/observed-share.ts). */
  publishObserved?: (o: ObservedInstance) => void;
  /**
   * Why this member cannot serve agents now (it cannot reach the store), or
   * undefined: an agent's Hello is then answered with MoveOn (hello.ts).
   */
  storeUnavailable?: () => string | undefined;
  /**
   * Keep each stream's unread bytes within a window, by the agent's read receipts
   * (read-window.ts): set behind HAProxy (--front), whose buffers gRPC's flow control cannot see.
   */
  readWindow?: boolean;
  /** Heartbeat timings for /metrics. */
  metrics?: { heartbeat(h: { sentAtMs: number; receivedAtMs: number; previousMs: number | undefined }): void };
}
