/**
 * Which etcd endpoints the shared client leaves out for a moment, and why.
 *
 * etcd3 picks an endpoint at random for each call, and a call sent to one that cannot
 * serve waits out its attempt's deadline (500 ms) before the retry goes elsewhere: with
 * one member of three gone, one call in three did. So each endpoint has a breaker that
 * opens on the first failure saying the endpoint itself cannot serve; one call tries it
 * again after ENDPOINT_SKIP_MS, doubling up to ENDPOINT_SKIP_MAX_MS while it stays so.
 * Two kinds of failure open it:
 * - **Unreachable** (endpointDown): refused, never connected, no connection to send on.
 * - **Silent**: the attempt waited (nearly) its whole deadline on a working connection
 *   (a member whose process is stopped, a link that drops packets without a reset) while
 *   another endpoint answered during that attempt or within RECENT_ANSWER_MS before it.
 *   - A deadline alone says nothing: while etcd elects a leader every member holds its
 *     requests, and leaving them all out would only slow the call that follows the
 *     election. A member silent while the others answer is told apart.
 *   - "Before it" counts too, since a client that sends one call at a time has nothing
 *     else in flight while an attempt waits. The price: an attempt that began within
 *     RECENT_ANSWER_MS of an etcd leader's loss leaves out a member that will serve again,
 *     tried again ENDPOINT_SKIP_MS later, while the election (1–2 s with etcd's defaults)
 *     is still on; that try comes too late for answers from before the loss to count.
 *   - An attempt that reached the endpoint with little of its deadline left (the last
 *     attempt of a call, or one that waited for another endpoint's half-open try and was
 *     sent on) says nothing of the endpoint: only one that waited there at least
 *     minSilentMs counts.
 *
 * An answer is a unary response (etcd puts a header on each) or an error etcd sent (its
 * own refusals, "etcdserver: leader changed", say). Opening a watch or lease stream
 * returns before the endpoint has said anything, so it is not one.
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, noJitterGenerator, type CircuitBreakerPolicy, type IDefaultPolicyContext, type IPolicy } from "cockatiel";
import { GRPCDeadlineExceededError, GRPCUnavailableError } from "etcd3";
import { monoMs } from "../../shared/clock.js";

/** How long an endpoint found unreachable or silent is first left out. */
export const ENDPOINT_SKIP_MS = 500;
/** The longest an endpoint found so again and again is left out between two tries. */
export const ENDPOINT_SKIP_MAX_MS = 4_000;
/** An answer from another endpoint this long before a silent attempt began still shows that etcd serves. */
export const RECENT_ANSWER_MS = 250;

function grpcCode(err: Error): unknown {
  return (err as { code?: unknown }).code;
}

function isDeadline(err: Error): boolean {
  return err instanceof GRPCDeadlineExceededError || grpcCode(err) === 4;
}

/**
 * A failure that says the endpoint itself cannot serve — not what an etcd member
 * answered: its own refusals ("etcdserver: leader changed", "no leader", "request timed
 * out") come as UNAVAILABLE from a member that is there, and a deadline spent on a
 * connection that works is a slow answer or a silent member (see the top of this file).
 */
export function endpointDown(err: Error): boolean {
  const unavailable = err instanceof GRPCUnavailableError || grpcCode(err) === 14;
  if (unavailable) return !/etcdserver:/.test(err.message);
  // No connection to send it on: connecting, or connecting failed (a cut-off or dead endpoint).
  return isDeadline(err) && /Waiting for LB pick|No connection established/.test(err.message);
}

/**
 * An error the endpoint sent: etcd's own ("etcdserver: leader changed", "mvcc: required
 * revision has been compacted"). etcd3 rewrites gRPC's errors into classes of its own and
 * drops their codes on the way, but keeps the message.
 */
function isAnswer(err: unknown): boolean {
  return err instanceof Error && /\b(etcdserver|mvcc): /.test(err.message);
}

/** A unary response: etcd puts a header on every one (a stream object has none). */
function isResponse(value: unknown): boolean {
  return typeof value === "object" && value !== null && "header" in value;
}

export interface EndpointCounts {
  /** Answers (responses and etcd's own errors) seen from it. */
  answers: number;
  /** Attempts that found it unreachable (endpointDown). */
  unreachable: number;
  /** Attempts whose deadline passed there while another endpoint answered (see the top of this file). */
  silent: number;
  /** Times its breaker opened (unreachable or silent). */
  leftOut: number;
}

/**
 * The per-endpoint policies of one client, sharing what each endpoint last answered.
 */
export class EndpointPolicies {
  private readonly answeredAt = new Map<string, number>();
  private readonly counts = new Map<string, EndpointCounts>();
  /** Failures judged silent (see the top of this file): the breakers' predicate reads it. */
  private readonly silentErrors = new WeakSet<Error>();

  /**
   * `minSilentMs`: how long an attempt must have waited on an endpoint for its deadline to
   * count as silence (0.8 × the attempt's deadline). `now`: a monotonic clock in ms.
   */
  constructor(
    private readonly minSilentMs: number,
    private readonly now: () => number = monoMs,
  ) {}

  /** The policy etcd3 runs each call to `host` through (its faultHandling.host). */
  policy(host: string): IPolicy {
    const counts: EndpointCounts = { answers: 0, unreachable: 0, silent: 0, leftOut: 0 };
    this.counts.set(host, counts);
    const breaker: CircuitBreakerPolicy = circuitBreaker(
      handleWhen((err) => endpointDown(err) || this.silentErrors.has(err)),
      // Without jitter: cockatiel's default (decorrelated) jitter draws the first skip
      // anywhere from ~0 to ~1 s, and one near 0 tries a silent member again at once.
      {
        halfOpenAfter: new ExponentialBackoff({ initialDelay: ENDPOINT_SKIP_MS, maxDelay: ENDPOINT_SKIP_MAX_MS, generator: noJitterGenerator }),
        breaker: new ConsecutiveBreaker(1),
      },
    );
    breaker.onBreak(() => counts.leftOut++);
    const watched = async <T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, context: IDefaultPolicyContext): Promise<T> => {
      const started = this.now();
      try {
        const value = await fn(context);
        if (isResponse(value)) this.heard(host, counts);
        return value;
      } catch (err) {
        if (isAnswer(err)) this.heard(host, counts);
        else if (err instanceof Error && endpointDown(err)) counts.unreachable++;
        else if (err instanceof Error && isDeadline(err) && this.now() - started >= this.minSilentMs && this.othersAnsweredSince(host, started - RECENT_ANSWER_MS)) {
          counts.silent++;
          this.silentErrors.add(err);
        }
        throw err;
      }
    };
    return {
      _altReturn: undefined as never,
      onSuccess: breaker.onSuccess,
      onFailure: breaker.onFailure,
      execute: (fn, signal) => breaker.execute((context) => watched(fn, context), signal),
    };
  }

  /** What each endpoint did so far, by host. */
  snapshot(): Map<string, EndpointCounts> {
    return new Map([...this.counts].map(([host, c]) => [host, { ...c }]));
  }

  private heard(host: string, counts: EndpointCounts): void {
    counts.answers++;
    this.answeredAt.set(host, this.now());
  }

  private othersAnsweredSince(host: string, since: number): boolean {
    for (const [other, at] of this.answeredAt) if (other !== host && at >= since) return true;
    return false;
  }
}
