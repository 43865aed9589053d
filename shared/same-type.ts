/**
 * True when A and B are the same type. A stored record's zod schema sits beside its
 * interface with `const exact: Same<z.output<typeof Schema>, Record> = true`, so a
 * field added to one and not the other fails the typecheck, rather than quarantining
 * good records or silently dropping the new field on load.
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
