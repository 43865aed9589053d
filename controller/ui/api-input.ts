/**
 * What the web console's JSON API accepts, validated at the boundary before any
 * gRPC handler sees it: shapes and bounds here, the meaning (does the service
 * exist, may the rollout pause) in the very handlers the CLI's calls reach.
 */
import { z } from "zod";
import { ROLLOUT_ACTIONS } from "../member/api/rollout-handlers.js";

export class UiInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "UiInputError";
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new UiInputError(r.error.issues.slice(0, 10).map((i) => (i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message)));
}

const TOKEN = /^[\x21-\x7e]+$/;
const signIn = z
  .object(
    {
      token: z.string().min(1).max(512).regex(TOKEN, "must be a berth token (printable, no spaces)").optional(),
      code: z.string().max(128).regex(/^[A-Za-z0-9_-]+$/, "must be a sign-in code").optional(),
    },
    { error: "expected a JSON object" },
  )
  .strict()
  .superRefine((v, ctx) => {
    if (v.token === undefined && v.code === undefined) ctx.addIssue({ code: "custom", path: ["token"], message: "give a token, or a one-time code" });
    if (v.token !== undefined && v.code !== undefined) ctx.addIssue({ code: "custom", path: ["code"], message: "a token or a code, not both" });
  });

export function parseSignIn(v: unknown): { token: string } | { code: string } {
  const r = check(signIn, v);
  return r.token !== undefined ? { token: r.token } : { code: r.code ?? "" };
}

const rolloutAction = z.object(
  { action: z.enum(ROLLOUT_ACTIONS, { error: (i) => `must be one of ${ROLLOUT_ACTIONS.join(", ")} (got ${JSON.stringify(i.input)?.slice(0, 32) ?? "nothing"})` }) },
  { error: "expected a JSON object" },
);

export function parseRolloutAction(v: unknown): { action: (typeof ROLLOUT_ACTIONS)[number] } {
  return check(rolloutAction, v);
}

export const HOST_ACTIONS = ["cordon", "uncordon", "drain"] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];

export function parseHostAction(v: string): HostAction {
  return check(z.enum(HOST_ACTIONS, { error: `must be one of ${HOST_ACTIONS.join(", ")}` }), v);
}

/** A query-string number: absent → the default, anything else must be a whole number in range. */
const qnum = (dflt: number, max: number) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === "" ? dflt : Number(s)))
    .pipe(z.number({ error: "must be a number" }).int("must be a whole number").min(0).max(max));
const qstr = (max: number) => z.string().max(max).optional().default("");

const eventsQuery = z.object({
  limit: qnum(200, 10_000),
  host: qstr(256),
  service: qstr(64),
  type: qstr(64),
  after_seq: qnum(0, Number.MAX_SAFE_INTEGER),
});

const fromQuery = (q: URLSearchParams): Record<string, string> => Object.fromEntries(q.entries());

export function parseEventsQuery(q: URLSearchParams): z.infer<typeof eventsQuery> {
  return check(eventsQuery, fromQuery(q));
}

const logsQuery = z.object({
  service: z.string().min(1, "must name a service").max(64),
  host: qstr(256),
  tail: qnum(200, 10_000),
});

export function parseLogsQuery(service: string, q: URLSearchParams): z.infer<typeof logsQuery> {
  const { host, tail } = fromQuery(q);
  return check(logsQuery, { service, host, tail });
}

/** A path segment naming a host or a service: bounded, as the gRPC request fields are. */
export function parseName(v: string, field: string): string {
  if (v === "") throw new UiInputError([`${field}: must not be empty`]);
  if (v.length > 256) throw new UiInputError([`${field}: at most 256 characters`]);
  return v;
}
