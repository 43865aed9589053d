/** Spec errors as plan, apply and render print them. */
import { formatSpecError, type SpecError } from "../shared/spec/parse.js";

/** Errors shown per file: a file that is not a spec at all (a README) yields hundreds, which bury the rest. */
const ERRORS_PER_FILE = 10;

/** Every error, at most ERRORS_PER_FILE of each file, then how many more it had. */
export function formatSpecErrors(errors: readonly SpecError[]): string {
  const byFile = new Map<string, SpecError[]>();
  for (const e of errors) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const lines: string[] = [];
  for (const [file, es] of byFile) {
    for (const e of es.slice(0, ERRORS_PER_FILE)) lines.push(`  ${formatSpecError(e)}`);
    if (es.length > ERRORS_PER_FILE) lines.push(`  ${file}: … and ${es.length - ERRORS_PER_FILE} more (is it a service spec?)`);
  }
  return lines.join("\n");
}
