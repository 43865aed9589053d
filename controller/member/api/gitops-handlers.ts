/**
 * `berth gitops add | list | status | suspend | resume | sync | remove`
 * (DESIGN.md, "GitOps"). Any member writes a source's record; only the leader
 * follows it (controller/gitops/runner.ts) and writes its status. Removing a
 * source leaves its services as they are: they simply have no owner any more.
 */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { GitopsSource__Output } from "../../../shared/gen/berth/v1/GitopsSource.js";
import type { GitopsSourceView } from "../../../shared/gen/berth/v1/GitopsSourceView.js";
import type { GitopsCommit } from "../../../shared/gen/berth/v1/GitopsCommit.js";
import { encodeRecord } from "../../store/record.js";
import type { SecretStore } from "../../secrets/secret-store.js";
import type { GitopsSources } from "../../gitops/sources.js";
import { checkSource } from "../../gitops/validate.js";
import { requestSync } from "../../gitops/request-sync.js";
import { emptyStatus, sourceKey, statusKey, type CommitInfo, type SourceRecord } from "../../gitops/source.js";
import { closest } from "../../../shared/closest.js";
import { unary, type OperatorServiceDeps } from "./operator-service.js";
import { GrpcError } from "./errors.js";
import { quote } from "../../../shared/text/quote.js";

export interface GitopsHandlerDeps extends OperatorServiceDeps {
  gitops: GitopsSources;
  secrets?: SecretStore;
}

type GitopsHandlers = Pick<OperatorServiceHandlers, "AddGitopsSource" | "ListGitopsSources" | "GetGitopsSource" | "SetGitopsSuspended" | "SyncGitopsSource" | "RemoveGitopsSource">;

const commitView = (c: CommitInfo | undefined): GitopsCommit | null =>
  c ? { commit: c.commit, at_ms: c.atMs, author: c.author, subject: c.subject, errors: c.errors, rollouts: c.rollouts.map((r) => ({ service: r.service, from_revision: r.fromRevision, to_revision: r.toRevision })) } : null;

export function sourceView(src: SourceRecord, gitops: GitopsSources, nowMs: number): GitopsSourceView {
  const st = gitops.status(src.name) ?? emptyStatus(src.name);
  const a = src.auth;
  return {
    source: {
      name: src.name,
      repo: src.repo,
      branch: src.branch,
      path: src.path,
      env: src.env,
      interval_ms: src.intervalMs,
      prune: src.prune,
      self_heal: src.selfHeal,
      auth_kind: a.kind,
      username: a.kind === "token" || a.kind === "basic" ? a.username : "",
      auth_secret: a.kind === "none" ? "" : a.secret,
      webhook_secret: src.webhookSecret,
      known_hosts: a.kind === "ssh" ? a.knownHosts : "",
      ca_pem: src.caPem,
    },
    suspended: src.suspended,
    created_at_ms: src.createdAtMs,
    last_attempted: commitView(st.lastAttempted),
    last_applied: commitView(st.lastApplied),
    attempts: st.attempts,
    retry_at_ms: st.retryAtMs,
    owned: st.owned,
    drift: st.drift,
    drift_since_ms: st.driftSinceMs,
    unpruned: st.unpruned,
    head: st.head,
    fetched_at_ms: st.fetchedAtMs,
    fetch_error: st.fetchError,
    now_ms: nowMs,
  };
}

export function gitopsHandlers(d: GitopsHandlerDeps): GitopsHandlers {
  const source = (name: string): SourceRecord => {
    const s = d.gitops.get(name);
    if (s) return s;
    const near = closest(name, d.gitops.all().map((x) => x.name));
    throw new GrpcError(grpc.status.NOT_FOUND, `no gitops source ${quote(name)}${near ? `; did you mean "${near}"?` : ""}`);
  };
  const view = (name: string): GitopsSourceView => sourceView(source(name), d.gitops, d.now());

  /** Rewrites a source's record, guarded by the revision read; a concurrent change is ABORTED. */
  const update = async (name: string, change: (s: SourceRecord) => SourceRecord, event: { type: string; message: string; actor: string }): Promise<GitopsSourceView> => {
    const cur = source(name);
    const key = sourceKey(name);
    const res = await d.events.txn([{ key, modRevision: d.gitops.revisionOf(key) }], [{ type: "put", key, value: encodeRecord(change(cur)) }], [event]);
    if (!res.succeeded) throw new GrpcError(grpc.status.ABORTED, `gitops source ${name} changed concurrently; try again`);
    await d.gitops.refresh(key);
    return view(name);
  };

  return {
    AddGitopsSource: unary(d, "operator", "AddGitopsSource", async (req: GitopsSource__Output, who) => {
      const c = checkSource({ name: req.name, repo: req.repo, branch: req.branch, path: req.path, env: req.env, intervalMs: Number(req.interval_ms), authKind: req.auth_kind, username: req.username, authSecret: req.auth_secret, webhookSecret: req.webhook_secret, knownHosts: req.known_hosts, caPem: req.ca_pem });
      if (!c.ok) throw new GrpcError(grpc.status.INVALID_ARGUMENT, c.errors.join("\n"));
      // Named secrets must exist now: a typo is caught here, not at the first fetch.
      for (const [flag, name] of [["auth_secret", c.auth.kind === "none" ? "" : c.auth.secret], ["webhook_secret", c.webhookSecret]] as const) {
        if (name && !d.secrets?.get(name)) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${flag}: no secret ${quote(name)} on the controller: \`berth secret set ${name}\` first`);
      }
      const rec: SourceRecord = {
        name: req.name,
        repo: c.repo,
        branch: c.branch,
        path: c.path,
        env: c.env,
        intervalMs: c.intervalMs,
        prune: req.prune,
        selfHeal: req.self_heal,
        suspended: false,
        auth: c.auth,
        caPem: c.caPem,
        webhookSecret: c.webhookSecret,
        createdAtMs: d.now(),
        createdBy: who.tokenId,
        syncRequestedAtMs: 0,
      };
      const key = sourceKey(rec.name);
      const res = await d.events.txn(
        [{ key, modRevision: 0 }],
        [
          { type: "put", key, value: encodeRecord(rec) },
          // A status left by an earlier source of this name is not this one's.
          { type: "delete", key: statusKey(rec.name) },
        ],
        [{ type: "gitops.added", actor: who.tokenId, message: `source ${rec.name}: ${rec.repo} ${rec.branch}:${rec.path || "."}${rec.env ? ` env ${rec.env}` : ""}${rec.prune ? ", prune" : ""}${rec.selfHeal ? ", self-heal" : ""}` }],
      );
      if (!res.succeeded) throw new GrpcError(grpc.status.ALREADY_EXISTS, `gitops source ${rec.name} exists: \`berth gitops remove ${rec.name}\` first to change it`);
      await d.gitops.refresh(key);
      d.log.info({ source: rec.name, repo: rec.repo, actor: who.tokenId }, "gitops source added");
      return view(rec.name);
    }),

    ListGitopsSources: unary(d, "viewer", "ListGitopsSources", async () => ({ sources: d.gitops.all().map((s) => sourceView(s, d.gitops, d.now())), now_ms: d.now() })),

    GetGitopsSource: unary(d, "viewer", "GetGitopsSource", async (req: { name: string }) => view(req.name)),

    SetGitopsSuspended: unary(d, "operator", "SetGitopsSuspended", async (req: { name: string; suspended: boolean }, who) =>
      update(req.name, (s) => ({ ...s, suspended: req.suspended }), { type: req.suspended ? "gitops.suspended" : "gitops.resumed", actor: who.tokenId, message: `source ${req.name} ${req.suspended ? "suspended: nothing is fetched or applied" : "resumed"}` }),
    ),

    SyncGitopsSource: unary(d, "operator", "SyncGitopsSource", async (req: { name: string }, who) => {
      if (source(req.name).suspended) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `gitops source ${req.name} is suspended: \`berth gitops resume ${req.name}\` first`);
      if (!(await requestSync(d.events, d.gitops, req.name, d.now(), who.tokenId, "berth gitops sync"))) throw new GrpcError(grpc.status.ABORTED, `gitops source ${req.name} changed concurrently; try again`);
      return view(req.name);
    }),

    RemoveGitopsSource: unary(d, "operator", "RemoveGitopsSource", async (req: { name: string }, who) => {
      const v = view(req.name);
      const key = sourceKey(req.name);
      const res = await d.events.txn(
        [{ key, modRevision: d.gitops.revisionOf(key) }],
        [
          { type: "delete", key },
          { type: "delete", key: statusKey(req.name) },
        ],
        [{ type: "gitops.removed", actor: who.tokenId, message: `source ${req.name} removed; its services (${v.owned?.length ?? 0}) stay as they are` }],
      );
      if (!res.succeeded) throw new GrpcError(grpc.status.ABORTED, `gitops source ${req.name} changed concurrently; try again`);
      await d.gitops.refresh(key);
      await d.gitops.refresh(statusKey(req.name));
      return v;
    }),
  };
}
