/**
 * MemberService: what the members of a controller group ask of each other —
 * artifacts by digest (artifacts/replicas.ts). Only a member of this group may
 * call it: the caller's client certificate must be a member certificate of the
 * group's CA (createMemberCert); a host's certificate or an operator's token is
 * not enough.
 */
import * as grpc from "@grpc/grpc-js";
import type { MemberServiceHandlers } from "../../../shared/gen/berth/v1/MemberService.js";
import { peerCertificate, verifyMemberCert } from "../../../shared/tls/pki.js";
import type { Logger } from "../../../shared/log/logger.js";
import { ArtifactError, MAX_ARTIFACT_BYTES, SHA256, type ArtifactStore } from "../../artifacts/artifact-store.js";
import type { ArtifactReplicas } from "../../artifacts/replicas.js";
import { failStream, streamArtifact } from "./artifact-stream.js";
import { GrpcError, serviceError, toStatus } from "./errors.js";

export interface MemberServiceDeps {
  /** The CAs a member certificate may come from: the group's, both during a CA rotation. */
  trustedCas: () => readonly string[];
  now: () => number;
  artifacts: ArtifactStore;
  replicas: ArtifactReplicas;
  log: Logger;
}

/** The calling member's id, or the refusal. */
export function callingMember(d: Pick<MemberServiceDeps, "trustedCas" | "now">, call: { getAuthContext?: () => unknown }): string {
  const der = peerCertificate(call);
  if (!der) throw new GrpcError(grpc.status.UNAUTHENTICATED, "a member certificate of this group is required");
  const v = verifyMemberCert(d.trustedCas(), der, new Date(d.now()));
  if (!v.ok) throw new GrpcError(grpc.status.UNAUTHENTICATED, `member certificate refused: ${v.reason}`);
  return v.memberId;
}

function validSha(sha: string): string {
  if (!SHA256.test(sha)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "sha256: expected 64 hex characters");
  return sha;
}

export function memberServiceHandlers(d: MemberServiceDeps): MemberServiceHandlers {
  return {
    FetchArtifact(call) {
      void (async () => {
        try {
          callingMember(d, call);
          const sha = validSha(call.request.sha256);
          // Only this member's own copy: a member asked on behalf of another never asks a third (no loops).
          const size = await d.artifacts.size(sha);
          if (size === undefined) throw new GrpcError(grpc.status.NOT_FOUND, `no artifact ${sha} on this member`);
          await streamArtifact(call, d.artifacts, sha, size);
        } catch (err) {
          const s = toStatus(err);
          if (s.internal) d.log.warn({ err }, "serving an artifact to a member failed");
          failStream(call, s.code, s.details);
        }
      })();
    },

    EnsureArtifact(call, callback) {
      void (async () => {
        try {
          const member = callingMember(d, call);
          const sha = validSha(call.request.sha256);
          const want = Number(call.request.size);
          if (!Number.isSafeInteger(want) || want < 0 || want > MAX_ARTIFACT_BYTES) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `size: at most ${MAX_ARTIFACT_BYTES}`);
          const from = call.request.from.slice(0, 300);
          const size = await d.replicas.ensure(sha, { from: from || undefined, size: want || undefined });
          if (size === undefined) throw new GrpcError(grpc.status.NOT_FOUND, `no member has artifact ${sha}`);
          d.log.debug({ sha256: sha, for: member }, "artifact held for a member");
          callback(null, { present: true, size });
        } catch (err) {
          // No good copy could be had (a bad one, a member lost mid-copy): the asking member tries another.
          const e = err instanceof ArtifactError ? new GrpcError(grpc.status.UNAVAILABLE, err.message) : err;
          if (toStatus(e).internal) d.log.warn({ err }, "taking a copy of an artifact failed");
          callback(serviceError(e));
        }
      })();
    },
  };
}
