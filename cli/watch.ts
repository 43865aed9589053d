/**
 * A long watch (`events -f`, `endpoints -w`, `rollout status -w`, `logs -f`)
 * that outlives its controller member: when the stream is lost (the member
 * stopped, restarted, its host died) it is opened again on whichever member
 * answers — the same one back, or another of the group — with backoff, for up
 * to retryForMs; then it gives up with the last error. The caller's `open` is
 * called for every stream, so it resumes from what it has seen (events after the
 * last seq, logs with no history again).
 */
import type * as grpc from "@grpc/grpc-js";
import type { OperatorServiceClient } from "../shared/gen/berth/v1/OperatorService.js";
import { backoffDelayMs, type BackoffPolicy } from "../shared/backoff.js";
import { isConnectionLost, noMemberError, readyMembers, toCliError, type Api } from "./client.js";

/** How long a watch keeps looking for a member before it gives up. @default 120 s */
export const WATCH_RETRY_MS = 120_000;

/**
 * Between rounds over the members. Capped at 1 s: a follower of the endpoints is back
 * within about a second of its controller listening again, well inside the time a
 * controller that starts leading holds drains back (rollout/next-step.ts
 * FOLLOWER_GRACE_MS). A round is one connection attempt per member.
 */
export const WATCH_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 1000, factor: 2, jitter: 0.3 };

/** A reopened stream that has lived this long ends the outage (its backoff starts over). */
export const STABLE_STREAM_MS = 2_000;

export interface WatchOptions<T> {
  /** Opens the stream on a member's client; called again for every reopen (reopen: true). */
  open(client: OperatorServiceClient, md: grpc.Metadata, reopen: boolean): grpc.ClientReadableStream<T>;
  onData(m: T, w: WatchHandle): void;
  /**
   * true (`-f`, `-w`): a stream that ends or is lost is opened again. false: the
   * stream's end is the end of the output, and losing it an error — a reopen
   * would print its history twice.
   */
  follow: boolean;
  /**
   * Told when the stream is lost and looked for again (a line on stderr): once an outage,
   * and again only when the reason changes — a member that answers but cannot serve the
   * stream (the one holding a host's agent stream was lost) fails each reopen at once.
   */
  onLost?(why: string): void;
  retryForMs?: number;
  /** Ends the watch as Ctrl-C does (a --timeout). */
  signal?: AbortSignal;
}

export interface WatchHandle {
  /** Ends the watch: cancels the stream, resolves the promise. */
  stop(): void;
}

export function watchStream<T>(api: Api, o: WatchOptions<T>): Promise<void> {
  const retryForMs = o.retryForMs ?? WATCH_RETRY_MS;
  return new Promise<void>((resolve, reject) => {
    let ended = false;
    let stream: grpc.ClientReadableStream<T> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lostSince = 0;
    let round = 0;
    let streamOpenedAt = 0;
    const finish = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      o.signal?.removeEventListener("abort", stop);
      stream?.removeAllListeners("data");
      stream?.on("error", () => undefined);
      stream?.cancel();
      if (err) reject(err);
      else resolve();
    };
    const stop = (): void => finish();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    o.signal?.addEventListener("abort", stop, { once: true });
    const handle: WatchHandle = { stop };
    if (o.signal?.aborted) {
      stop();
      return;
    }

    const openOn = (member: string, reopen: boolean): void => {
      const s = o.open(api.clientFor(member), api.metadata, reopen);
      stream = s;
      const openedAt = Date.now();
      streamOpenedAt = openedAt;
      let failed = false;
      s.on("data", (m: T) => {
        // The outage is over once a stream has lived a while: one that answers a line and
        // ends at once (`logs -f` of a host still disconnected) is opened again after the
        // backoff, not in a tight loop, and its line is not printed again and again.
        if (lostSince && Date.now() - openedAt >= STABLE_STREAM_MS) {
          lostSince = 0;
          round = 0;
          lastWhy = "";
        }
        api.answered(member);
        o.onData(m, handle);
      });
      s.on("error", (err: grpc.ServiceError) => {
        failed = true;
        if (ended) return;
        if (!isConnectionLost(err) || !o.follow) return finish(toCliError(err, member));
        lost(err);
      });
      s.on("end", () => {
        if (failed || ended) return;
        if (o.follow) lost(undefined);
        else finish();
      });
    };

    let lastWhy = "";
    const lost = (err: grpc.ServiceError | undefined): void => {
      // A stream that lived a while ended a past outage, whether or not it said anything since.
      if (lostSince && Date.now() - streamOpenedAt >= STABLE_STREAM_MS) {
        lostSince = 0;
        round = 0;
        lastWhy = "";
      }
      // Lost again before anything came: the outage goes on, and the next look waits its backoff.
      const again = lostSince !== 0;
      lostSince ||= Date.now();
      const why = err?.details || err?.message || "the stream ended";
      if (why !== lastWhy) o.onLost?.(why);
      lastWhy = why;
      if (again) timer = setTimeout(() => void lookAgain(err), backoffDelayMs(WATCH_BACKOFF, round++));
      else void lookAgain(err);
    };

    /** One round over the members (the one that answered last first); a round that finds none waits and goes again. */
    const lookAgain = async (lastErr: grpc.ServiceError | undefined): Promise<void> => {
      const failures: { member: string; err: unknown }[] = [];
      for await (const { member, up } of readyMembers(api)) {
        if (ended) return;
        if (up === true) return openOn(member, true);
        failures.push({ member, err: up });
      }
      if (Date.now() - lostSince > retryForMs) return finish(failures.length ? noMemberError(api, failures) : toCliError(lastErr ?? new Error("the watch ended"), api.member));
      timer = setTimeout(() => void lookAgain(lastErr), backoffDelayMs(WATCH_BACKOFF, round++));
    };

    // The first stream: on a member that answers (the caller's earlier call usually found one).
    void (async () => {
      const failures: { member: string; err: unknown }[] = [];
      for await (const { member, up } of readyMembers(api)) {
        if (ended) return;
        if (up === true) return openOn(member, false);
        failures.push({ member, err: up });
      }
      finish(noMemberError(api, failures));
    })();
  });
}
