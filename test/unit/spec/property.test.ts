import { describe, expect, it } from "vitest";
import fc from "fast-check";
import os from "node:os";
import { stringify } from "yaml";
import { formatSpecError, parseSpecFile } from "../../../shared/spec/parse.js";
import { exactDuration, normalizeSpec, toSpecInput } from "../../../shared/spec/schema.js";

/** A duration of exactly `ms`, written one of the ways people write them. */
function durationArb(minMs: number, maxMs: number): fc.Arbitrary<string> {
  return fc.integer({ min: minMs, max: maxMs }).chain((ms) => {
    const forms = [exactDuration(ms), `${ms}ms`];
    if (ms % 1000 === 0) forms.push(`${ms / 1000}s`);
    if (ms % 60_000 === 0) forms.push(`${ms / 60_000}m`);
    if (ms === 0) forms.push("0");
    return fc.constantFrom(...forms);
  });
}

/** Text as a script, an argument or an env value may hold it: tabs and newlines, no other control character. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const text = fc.string({ unit: "grapheme", maxLength: 20 }).filter((s) => !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(s));
const nonEmptyText = text.filter((s) => s.length > 0);
/** One line: a path, a program. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const lineText = nonEmptyText.filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s));
const stringish = fc.oneof(text, fc.integer(), fc.boolean());
const labelKey = fc.stringMatching(/^[a-z0-9]([a-z0-9._/-]{0,10}[a-z0-9])?$/);
const labelValue = fc.oneof(fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?$/), fc.nat());
const envKey = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/).filter((k) => !k.startsWith("BERTH_") && k !== "__proto__");
const port = fc.integer({ min: 1, max: 65535 });

const healthArb = fc
  .record(
    {
      check: fc.oneof(
        fc.record({ http: fc.record({ port, path: fc.stringMatching(/^\/[a-z0-9/_.-]{0,12}$/), status: fc.integer({ min: 100, max: 599 }) }, { requiredKeys: ["port"] }) }),
        fc.record({ tcp: fc.record({ port }) }),
        fc.record({ exec: fc.record({ command: fc.tuple(lineText, fc.array(stringish, { maxLength: 3 })).map(([p, a]) => [p, ...a]) }) }),
      ),
      intervalMs: fc.integer({ min: 2, max: 600_000 }),
      timeoutFraction: fc.double({ min: 0, max: 0.99, noNaN: true }),
      healthyThreshold: fc.integer({ min: 1, max: 10 }),
      unhealthyThreshold: fc.integer({ min: 1, max: 10 }),
    },
    { requiredKeys: ["check", "intervalMs", "timeoutFraction"] },
  )
  .chain(({ check, intervalMs, timeoutFraction, ...rest }) => {
    const timeoutMs = Math.max(1, Math.min(intervalMs - 1, Math.floor(intervalMs * timeoutFraction)));
    return fc.record({
      interval: durationArb(intervalMs, intervalMs),
      timeout: durationArb(timeoutMs, timeoutMs),
    }).map((d) => ({ ...check, ...d, ...rest }));
  });

const updateArb = fc
  .record({
    maxUnavailable: fc.integer({ min: 0, max: 5 }),
    maxSurge: fc.integer({ min: 0, max: 5 }),
    minHealthyMs: fc.integer({ min: 0, max: 600_000 }),
    healthyExtraMs: fc.integer({ min: 1, max: 600_000 }),
    progressExtraMs: fc.integer({ min: 1, max: 600_000 }),
    autoRevert: fc.boolean(),
    drainMs: fc.integer({ min: 0, max: 60_000 }),
  })
  // minHealthyTime < healthyDeadline, and healthyDeadline + drainTime < progressDeadline.
  .chain(({ minHealthyMs, healthyExtraMs, progressExtraMs, drainMs, maxUnavailable, maxSurge, ...rest }) =>
    fc.record({
      minHealthyTime: durationArb(minHealthyMs, minHealthyMs),
      healthyDeadline: durationArb(minHealthyMs + healthyExtraMs, minHealthyMs + healthyExtraMs),
      drainTime: durationArb(drainMs, drainMs),
      progressDeadline: durationArb(minHealthyMs + healthyExtraMs + drainMs + progressExtraMs, minHealthyMs + healthyExtraMs + drainMs + progressExtraMs),
    }).map((d) => ({ ...rest, ...d, maxSurge, maxUnavailable: maxUnavailable + maxSurge === 0 ? 1 : maxUnavailable })),
  );

/** Valid specs as users would write them: any optional block or field may be left out. */
const specArb = fc
  .record(
    {
      name: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/),
      artifact: fc.oneof(
        lineText,
        fc.record({
          url: fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9._-]{1,8}){0,3}$/).map((p) => `https://example.org/${p}`),
          sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
        }),
      ),
      install: fc.record(
        {
          apt: fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,10}(=[0-9][A-Za-z0-9.+~:-]{0,6})?$/), { maxLength: 3 }),
          steps: fc.array(fc.record({ run: nonEmptyText, timeout: durationArb(1, 3_600_000) }, { requiredKeys: ["run"] }), { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
      run: fc.record(
        {
          command: lineText,
          args: fc.array(stringish, { maxLength: 4 }),
          env: fc.dictionary(envKey, stringish, { maxKeys: 4 }),
          user: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,30}\$?$/),
          stopSignal: fc.constantFrom(...Object.keys(os.constants.signals)),
          stopTimeout: durationArb(0, 600_000),
          // delay ≤ maxDelay (and its default, 30s) by their ranges; the rule between them: parse.test.ts.
          restart: fc.record({ attempts: fc.nat({ max: 1000 }), delay: durationArb(0, 30_000), maxDelay: durationArb(30_000, 3_600_000) }, { requiredKeys: [] }),
        },
        { requiredKeys: ["command"] },
      ),
      resources: fc.record(
        {
          cpu: fc.double({ min: 0, max: 256, noNaN: true, noDefaultInfinity: true }).map(Math.abs),
          memoryMb: fc.nat({ max: 1 << 20 }),
          diskMb: fc.nat({ max: 1 << 24 }),
        },
        { requiredKeys: [] },
      ),
      instances: fc.integer({ min: 0, max: 10_000 }),
      constraints: fc.dictionary(labelKey, fc.oneof(labelValue, fc.array(labelValue, { minLength: 1, maxLength: 3 })), { maxKeys: 3 }),
      spread: labelKey,
      health: healthArb,
      update: updateArb,
      failover: fc.record({ enabled: fc.boolean(), stopAfterDisconnect: durationArb(0, 600_000) }, { requiredKeys: [] }),
    },
    { requiredKeys: ["name", "run"] },
  )
  .chain((spec) =>
    // canary ≤ instances, whatever instances ended up being (default 1); maxSurge and
    // maxUnavailable ≤ instances too (1 at 0 instances).
    fc.integer({ min: 0, max: spec.instances ?? 1 }).map((canary) => {
      if (!spec.update) return spec;
      const most = Math.max(1, spec.instances ?? 1);
      const maxSurge = Math.min(spec.update.maxSurge, most);
      const maxUnavailable = Math.min(spec.update.maxUnavailable, most);
      return { ...spec, update: { ...spec.update, canary, maxSurge, maxUnavailable: maxUnavailable + maxSurge === 0 ? 1 : maxUnavailable } };
    }),
  );

describe("random valid specs", () => {
  it("always parse with zero errors, equal to normalizing the data directly", () => {
    fc.assert(
      fc.property(specArb, (input) => {
        const yaml = stringify(input);
        const r = parseSpecFile(yaml, "p.yaml");
        expect(r.errors.map(formatSpecError), yaml).toEqual([]);
        expect(r.spec).toEqual(normalizeSpec(input));
      }),
      { numRuns: 300 },
    );
  });

  it("normalize idempotently: spec → input → spec is the same spec, through YAML too", () => {
    fc.assert(
      fc.property(specArb, (input) => {
        const spec = normalizeSpec(input);
        const again = toSpecInput(spec);
        expect(normalizeSpec(again)).toEqual(spec);
        expect(toSpecInput(normalizeSpec(again))).toEqual(again);
        const viaYaml = parseSpecFile(stringify(again), "again.yaml");
        expect(viaYaml.errors).toEqual([]);
        expect(viaYaml.spec).toEqual(spec);
      }),
      { numRuns: 300 },
    );
  });
});
