import type { RejectReason } from "../types.js";
import type { Filter } from "./filter.js";

const NO_ROOT: RejectReason = { kind: "no-root" };

/**
 * A service that runs as root (run.user: root, applied by an admin) goes only to
 * hosts whose agent allows it (`allowRoot: true` in agent.yaml, reported as a
 * host fact): the agent would refuse it anyway (shared/spec/run-as.ts), and a
 * refused placement is a failure where this is an explanation.
 */
export const rootFilter: Filter = {
  name: "root",
  reject: (host, _i, req) => (req.svc.service.root === true && host.allowRoot !== true ? NO_ROOT : undefined),
};
