/**
 * Spec files → ServiceSpecs, with every problem as `file:line:col: path: message`, so an
 * editor can jump to it and the user fixes all of them in one go. A folder of spec files
 * is a fleet: service names must be unique across it.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from "yaml";
import type { Document } from "yaml";
import type { SpecIssue } from "./issues.js";
import { formatSpecPath } from "./path.js";
import type { SpecPath } from "./path.js";
import { validateSpec } from "./schema.js";
import { referenceIssues } from "./template.js";
import type { ServiceSpec } from "./types.js";

export interface SpecError {
  file: string;
  /** 1-based; 0 when the problem is with the file as a whole (unreadable, too large). */
  line: number;
  /** 1-based; 0 together with line. */
  column: number;
  /** the field, as `health.http.path` or `install.steps[0].run`; "" for the file itself */
  path: string;
  message: string;
}

/** A spec is a page of YAML; anything much bigger is a mistake (or an attack on the parser). */
export const MAX_SPEC_FILE_BYTES = 256 * 1024;

/** `web.yaml:12:5: health.http.path: must start with /` */
export function formatSpecError(e: SpecError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  return e.path ? `${where}: ${e.path}: ${e.message}` : `${where}: ${e.message}`;
}

export interface ParsedSpecFile {
  spec?: ServiceSpec;
  errors: SpecError[];
}

interface Located extends ParsedSpecFile {
  /** line and column of a field in this file, for errors found across files */
  position(path: SpecPath): { line: number; column: number };
}

/**
 * Parses and validates one spec file's text; `file` is only used to label errors.
 * `position` places problems found later (a secret the controller does not hold) in the file.
 */
export function parseSpecFile(text: string, file: string): ParsedSpecFile & Pick<Located, "position"> {
  const { spec, errors, position } = parseLocated(text, file);
  return spec ? { spec, errors, position } : { errors, position };
}

/** One YAML document read for a spec-shaped file: its plain value, or why there is none. */
export interface ReadYaml {
  raw?: unknown;
  errors: SpecError[];
  /** line and column of a field (or its key) in this file; the document's start when absent */
  position(path: SpecPath, target?: SpecIssue["at"]): { line: number; column: number };
}

/**
 * Reads one YAML document of a spec-shaped file (a service spec, an environment's
 * overrides): syntax errors, one document only, no `__proto__` keys, and the text of
 * number-like scalars kept where `stringish` says a string is wanted (see STRINGISH).
 * `what` names the expected content in the empty-file error; with `allowEmpty` an empty
 * file is no error and `raw` is undefined.
 */
/**
 * Where each key that repeats one before it in the same map starts, in every map of
 * the tree: linear in its size. Keys are compared as yaml's uniqueKeys does for
 * scalars (by value); a key that is a collection or an alias counts as its source text.
 */
function duplicateKeys(root: unknown): number[] {
  const found: number[] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const k = pair.key;
        const id = isScalar(k) ? `s:${typeof k.value}:${String(k.value)}` : isAlias(k) ? `a:${k.source}` : `n:${k === null ? "" : JSON.stringify((k as { toJSON?: () => unknown }).toJSON?.() ?? null)}`;
        if (seen.has(id)) found.push((k as { range?: [number, number, number] } | null)?.range?.[0] ?? node.range?.[0] ?? 0);
        else seen.add(id);
        stack.push(pair.value);
        if (k !== null && !isScalar(k)) stack.push(k);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return found;
}

export function readYamlDoc(text: string, file: string, o: { stringish: readonly SpecPath[]; what: string; allowEmpty?: boolean }): ReadYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const fail = (errors: SpecError[]): ReadYaml => ({
    errors: errors.sort((a, b) => a.line - b.line || a.column - b.column),
    position: () => ({ line: 1, column: 1 }),
  });

  // YAML 1.2 core schema (yaml's default): `yes`/`on` are strings, not booleans.
  // Duplicate keys are found below, in one pass: yaml's own check (uniqueKeys) compares each
  // key with every one before it, and a 250 KB flow map of 24,000 keys froze the controller 38 s.
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const syntax: SpecError[] = [];
  for (const doc of docs) {
    for (const e of [...doc.errors, ...doc.warnings]) {
      // yaml stops where the nesting outgrows the stack, with the engine's words for it.
      const message = /Maximum call stack size exceeded/.test(e.message) ? "nested too deeply (hundreds of levels): a service spec nests a few" : firstLine(e.message);
      syntax.push({ file, ...at(e.pos[0]), path: "", message });
    }
    for (const offset of duplicateKeys(doc.contents)) syntax.push({ file, ...at(offset), path: "", message: "Map keys must be unique" });
  }
  if (syntax.length) return fail(syntax);

  // Empty or comment-only documents (after a trailing `---`) hold no spec and are not a second one.
  const real = docs.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
  const doc = real[0];
  if (!doc) {
    if (o.allowEmpty) return { raw: undefined, errors: [], position: () => ({ line: 1, column: 1 }) };
    return fail([{ file, line: 1, column: 1, path: "", message: `empty file: expected ${o.what}` }]);
  }
  if (real.length > 1) {
    const second = real[1]!;
    return fail([
      {
        file,
        ...at(second.range[0]),
        path: "",
        message: `one service per file: found ${real.length} YAML documents separated by ---; put each in its own file`,
      },
    ]);
  }

  // toJS() would drop such a key without a word (it cannot be a plain property).
  const proto = protoKeys(doc.contents, []);
  if (proto.length) {
    return fail(
      proto.map(({ path, offset }) => ({
        file,
        ...at(offset),
        path: formatSpecPath(path),
        message: '"__proto__" cannot be used as a name',
      })),
    );
  }

  keepScalarText(doc, o.stringish);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // e.g. an alias bomb: too many alias expansions.
    return fail([{ file, line: 1, column: 1, path: "", message: firstLine((e as Error).message) }]);
  }
  return { raw, errors: [], position: (path, target = "value") => at(locate(doc, path, target)) };
}

function parseLocated(text: string, file: string): Located {
  const read = readYamlDoc(text, file, { stringish: STRINGISH, what: "a service spec, a mapping with at least name and run.command" });
  const { position } = read;
  if (read.errors.length) return { errors: read.errors, position };
  const raw = read.raw;
  const result = validateSpec(raw);
  // Checked here, on what a user wrote, and not in validateSpec: stored and wire specs
  // go through that too, and one stored before these rules must still load.
  const references = referenceIssues(raw);
  if (result.spec && references.length === 0) return { spec: result.spec, errors: [], position };
  const errors = [...result.issues, ...references].map((i) => ({
    file,
    ...position(i.path, i.at),
    path: formatSpecPath(i.path),
    message: i.message,
  }));
  return { errors: errors.sort((a, b) => a.line - b.line || a.column - b.column), position };
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

function protoKeys(node: unknown, path: SpecPath): { path: SpecPath; offset: number }[] {
  const found: { path: SpecPath; offset: number }[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (key === "__proto__") found.push({ path: [...path, key], offset: rangeStart(pair.key) ?? 0 });
      else found.push(...protoKeys(pair.value, [...path, key]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => found.push(...protoKeys(item, [...path, i])));
  }
  return found;
}

/** Where the spec wants a string but YAML read a number or boolean (see schema.ts). */
export const STRINGISH: readonly SpecPath[] = [
  ["run", "args", "*"],
  ["run", "env", "*"],
  ["constraints", "*"],
  ["constraints", "*", "*"],
  ["health", "exec", "command", "*"],
];

/**
 * Turns plain number/boolean scalars at STRINGISH paths back into the text the user
 * wrote, so `VERSION: 1.10` reaches the process as "1.10", not "1.1", and `0x10` stays
 * "0x10". Quoted and block scalars are strings already.
 */
function keepScalarText(doc: Document, patterns: readonly SpecPath[]): void {
  const visit = (node: unknown, pattern: SpecPath): void => {
    if (pattern.length === 0) {
      if (isScalar(node) && (typeof node.value === "number" || typeof node.value === "boolean") && node.source) {
        node.value = node.source;
      }
      return;
    }
    const [head, ...rest] = pattern;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (head === "*" || key === head) visit(pair.value, rest);
      }
    } else if (isSeq(node) && head === "*") {
      for (const item of node.items) visit(item, rest);
    }
  };
  for (const pattern of patterns) visit(doc.contents, pattern);
}

/**
 * The source offset to report for a field: its value, or its key when the problem is
 * the key (an unknown field) or the value is empty (`health:` with nothing after it).
 * A field that is missing is reported at the mapping that should hold it.
 */
function locate(doc: Document, path: SpecPath, target: SpecIssue["at"]): number {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      const keyAt = rangeStart(pair.key);
      if (i === path.length - 1 && target === "key" && keyAt !== undefined) return keyAt;
      const empty = isScalar(pair.value) && pair.value.value === null && !pair.value.source;
      best = (empty ? keyAt : rangeStart(pair.value)) ?? keyAt ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item: unknown = node.items[seg];
      if (item === undefined) break;
      best = rangeStart(item) ?? best;
      node = item;
    } else {
      break;
    }
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === "object" && "range" in node && Array.isArray(node.range)) {
    const start: unknown = node.range[0];
    return typeof start === "number" ? start : undefined;
  }
  return undefined;
}

export interface LoadedSpecs {
  /**
   * every spec file read, in name order; spec is absent where the file had errors.
   * `content` is the spec's text to send to the controller: the file's own, or for a
   * fleet (fleet.ts) the service rendered for one environment; absent when unreadable.
   */
  files: { file: string; spec?: ServiceSpec; content?: string }[];
  errors: SpecError[];
}

const SPEC_FILE = /\.ya?ml$/;

/**
 * Reads one spec file, or every `*.yaml`/`*.yml` directly in a folder (not recursive,
 * sorted by name; dot-files such as editor lock files are skipped), validates them all
 * and checks that service names are unique across them. `file` in the result is the
 * path to read it from again (the folder joined with the name).
 */
export async function loadSpecDir(pathOrFile: string): Promise<LoadedSpecs> {
  const fileError = (file: string, message: string): SpecError => ({ file, line: 0, column: 0, path: "", message });
  let paths: string[];
  try {
    const st = await stat(pathOrFile);
    if (st.isDirectory()) {
      const names = (await readdir(pathOrFile)).filter((n) => SPEC_FILE.test(n) && !n.startsWith(".")).sort();
      paths = names.map((n) => join(pathOrFile, n));
      if (paths.length === 0) return { files: [], errors: [fileError(pathOrFile, "no *.yaml or *.yml spec files in this folder")] };
    } else {
      paths = [pathOrFile];
    }
  } catch (e) {
    return { files: [], errors: [fileError(pathOrFile, `cannot read: ${errorText(e)}`)] };
  }

  const files: LoadedSpecs["files"] = [];
  const errors: SpecError[] = [];
  const byName = new Map<string, { file: string; line: number; column: number }>();
  for (const file of paths) {
    let text: string;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error("not a regular file");
      if (st.size > MAX_SPEC_FILE_BYTES) throw new Error(`larger than ${MAX_SPEC_FILE_BYTES / 1024} KiB`);
      text = await readFile(file, "utf8");
    } catch (e) {
      errors.push(fileError(file, `cannot read: ${errorText(e)}`));
      files.push({ file });
      continue;
    }
    const parsed = parseLocated(text, file);
    errors.push(...parsed.errors);
    if (!parsed.spec) {
      files.push({ file, content: text });
      continue;
    }
    files.push({ file, spec: parsed.spec, content: text });
    const here = { file, ...parsed.position(["name"]) };
    const first = byName.get(parsed.spec.name);
    if (first) {
      errors.push({
        ...here,
        path: "name",
        message: `service "${parsed.spec.name}" is also defined in ${first.file}:${first.line}:${first.column}; names must be unique in the fleet`,
      });
    } else {
      byName.set(parsed.spec.name, here);
    }
  }
  return { files, errors };
}

/** Node's fs messages already name the code and path: "ENOENT: no such file or directory, stat 'x'". */
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
