/**
 * A GitOps *source* (DESIGN.md, "GitOps"): a repository, branch, folder and
 * environment the leader keeps the fleet matching. Two records per source, both
 * through controller/store/record.ts like every other stored state:
 * - `gitops/sources/<name>`: what the operator said (written by any member: add,
 *   suspend, resume, sync, the webhook);
 * - `gitops/status/<name>`: what the leader did (attempts, the commit applied, what
 *   the source owns and created, drift). Written only by the leader, and in the same
 *   txn as the apply it records, so ownership never disagrees with what was applied.
 * Credentials are never here: a source names berth secrets (controller/secrets/).
 */
import { z } from "zod";

export const SOURCE_PREFIX = "gitops/sources/";
export const STATUS_PREFIX = "gitops/status/";
export const sourceKey = (name: string): string => `${SOURCE_PREFIX}${name}`;
export const statusKey = (name: string): string => `${STATUS_PREFIX}${name}`;

/** A source's name: it is a key, a folder name in the data dir and a URL path segment. */
export const SOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const SOURCE_NAME_MESSAGE = "must be 1–63 lowercase letters, digits or '-', starting and ending with a letter or digit";

import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from "../../shared/gitops-limits.js";
import { MAX_KNOWN_HOSTS } from "./known-hosts.js";

/** @default 64 KiB: a CA bundle of a few certificates. */
export const MAX_CA_PEM = 64 * 1024;
export { DEFAULT_INTERVAL_MS, MAX_INTERVAL_MS, MIN_INTERVAL_MS } from "../../shared/gitops-limits.js";

export const AuthSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  /** HTTPS: the secret's value is a token, sent as basic auth (username default "x-access-token", as GitHub takes). */
  z.object({ kind: z.literal("token"), username: z.string().max(256), secret: z.string().min(1).max(253) }),
  /** HTTPS basic auth: username and the secret's value as password. */
  z.object({ kind: z.literal("basic"), username: z.string().min(1).max(256), secret: z.string().min(1).max(253) }),
  /**
   * SSH: the secret's value is a private deploy key; knownHosts (OpenSSH's format,
   * public) the host keys ssh accepts — never learnt on first use. "" (a record
   * from before it existed) fails every fetch with a message saying so.
   */
  z.object({ kind: z.literal("ssh"), secret: z.string().min(1).max(253), knownHosts: z.string().max(MAX_KNOWN_HOSTS).default("") }),
]);
export type SourceAuth = z.infer<typeof AuthSchema>;

export const SourceRecordSchema = z.object({
  name: z.string().regex(SOURCE_NAME),
  repo: z.string().min(1).max(2048),
  branch: z.string().min(1).max(255),
  /** The folder in the repository holding the fleet ("" or "." for the root). */
  path: z.string().max(1024),
  /** The environment whose overlay applies ("" for none); passed to the tree loader. */
  env: z.string().max(63),
  intervalMs: z.number().int().min(MIN_INTERVAL_MS).max(MAX_INTERVAL_MS),
  prune: z.boolean(),
  selfHeal: z.boolean(),
  suspended: z.boolean(),
  auth: AuthSchema,
  /** HTTPS: PEM certificates trusted besides the system's CAs ("" for none). */
  caPem: z.string().max(MAX_CA_PEM).default(""),
  /** The berth secret holding the webhook's HMAC key; "" means no webhook. */
  webhookSecret: z.string().max(253),
  createdAtMs: z.number(),
  createdBy: z.string(),
  /** Bumped by `berth gitops sync` and the webhook: the leader syncs when it moves. */
  syncRequestedAtMs: z.number(),
});
export type SourceRecord = z.infer<typeof SourceRecordSchema>;

export const CommitInfoSchema = z.object({
  commit: z.string(),
  atMs: z.number(),
  /** "Name <email>" of the commit's author. */
  author: z.string(),
  subject: z.string(),
  /** Why it was not applied: file:line errors (empty when it was). */
  errors: z.array(z.string()),
  /** The rollouts the apply started. */
  rollouts: z.array(z.object({ service: z.string(), fromRevision: z.number(), toRevision: z.number() })),
});
export type CommitInfo = z.infer<typeof CommitInfoSchema>;

export const SourceStatusSchema = z.object({
  name: z.string(),
  lastAttempted: CommitInfoSchema.optional(),
  lastApplied: CommitInfoSchema.optional(),
  /** Failed attempts at lastAttempted.commit in a row, and when the next is due. */
  attempts: z.number().int().min(0),
  retryAtMs: z.number(),
  /** The services in the tree last applied. */
  owned: z.array(z.string()),
  /** Of owned and unpruned, those this source created (the only ones it may prune). */
  created: z.array(z.string()),
  /** Removed from the repository but not pruned (the source has no --prune, or did not create them). */
  unpruned: z.array(z.string()),
  /** Owned services whose stored spec differs from the commit applied (hand changes). */
  drift: z.array(z.string()),
  driftSinceMs: z.number(),
  fetchedAtMs: z.number(),
  /** The commit the branch pointed at when last fetched. */
  head: z.string(),
  /** The last fetch's error ("" when it worked). */
  fetchError: z.string(),
});
export type SourceStatus = z.infer<typeof SourceStatusSchema>;

export function emptyStatus(name: string): SourceStatus {
  return { name, attempts: 0, retryAtMs: 0, owned: [], created: [], unpruned: [], drift: [], driftSinceMs: 0, fetchedAtMs: 0, head: "", fetchError: "" };
}

/** The actor apply events of a source name: `gitops:<name>`. */
export const sourceActor = (name: string): string => `gitops:${name}`;
