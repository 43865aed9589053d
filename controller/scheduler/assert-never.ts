/** Thrown only for bugs: a value the type system says cannot exist reached a switch. */
export class UnreachableError extends Error {
  override readonly name = "UnreachableError";
}

export function assertNever(x: never): never {
  throw new UnreachableError(`unexpected value: ${JSON.stringify(x)}`);
}
