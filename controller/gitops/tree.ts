/**
 * A source's tree at one commit → the spec files one apply takes, validated whole:
 * every file parsed, every local artifact packed exactly as `berth apply` packs it
 * (shared/artifact/pack.ts: same content, same digest), URL artifacts carrying
 * their sha256 (the spec schema requires it). Errors name the file as it is in the
 * repository (`fleet/web.yaml:3:5: …`), never the controller's temp dir.
 *
 * The one place a checked-out tree is read: loadSourceTree. An environment
 * (`--env`) is stored with the source and renders a fleet folder (services/ +
 * envs/<env>.yaml, shared/spec/fleet.ts) exactly as `berth apply -f --env` does.
 */
import { lstat, readdir, readFile, realpath, rm } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { formatSpecError, parseSpecFile } from "../../shared/spec/parse.js";
import { loadFleet } from "../../shared/spec/fleet.js";
import { packArtifact, type PackedArtifact } from "../../shared/artifact/pack.js";

export interface TreeFile {
  /** Path in the repository, e.g. fleet/web.yaml. */
  file: string;
  content: string;
  artifact_sha256: string;
}

export interface SourceTree {
  files: TreeFile[];
  /** "file:line:col: field: message", every problem of the tree. */
  errors: string[];
  /** Service → its file. */
  services: Map<string, string>;
  /** Artifacts packed from the tree: temp files the caller stores, then removes. */
  packs: (PackedArtifact & { file: string })[];
}

/** Symlinks that lead out of the checkout are removed and reported: a repository must not make the controller read its own files. */
async function escapingLinks(root: string, dir = root, out: string[] = []): Promise<string[]> {
  const rootReal = await realpath(root);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) {
      const target = await realpath(p).catch(() => "");
      if (!target || (target !== rootReal && !target.startsWith(rootReal + sep))) {
        out.push(relative(root, p));
        await rm(p, { force: true });
      }
    } else if (e.isDirectory()) await escapingLinks(root, p, out);
  }
  return out;
}

/**
 * root: the checkout (the repository's root); path: the fleet folder in it; env:
 * the environment, "" for none.
 */
export async function loadSourceTree(root: string, path: string, env: string): Promise<SourceTree> {
  const rel = (abs: string): string => relative(root, abs).split(sep).join("/");
  const errors: string[] = (await escapingLinks(root)).map((f) => `${f}: a symlink that leads out of the repository`);
  const dir = join(root, path);
  // A plain folder of specs, or a fleet (services/ + envs/<env>.yaml) rendered for env, as `berth apply -f --env` reads it.
  const loaded = await loadFleet(dir, { env: env || undefined });
  // Named as in the repository; the folder itself as `path/` (e.g. "no spec files in fleet/").
  errors.push(...loaded.errors.map((e) => formatSpecError({ ...e, file: e.file === dir ? `${path || "."}/` : rel(e.file) })));
  const files: TreeFile[] = [];
  const services = new Map<string, string>();
  const packs = new Map<string, SourceTree["packs"][number]>();
  // An error from the file system names the checkout's path on the controller: shown as the repository's own.
  const inRepo = (e: string): string => e.split(`${root}${sep}`).join("").split(root).join(".");
  const out = (): SourceTree => ({ files, errors: errors.map(inRepo), services, packs: [...packs.values()] });
  try {
    for (const f of loaded.files) {
      if (!f.spec) continue;
      const file = rel(f.file);
      // The text sent: a fleet's service as rendered for env, a plain file as written.
      const content = f.content ?? (await readFile(f.file, "utf8"));
      services.set(f.spec.name, file);
      let sha = "";
      const a = f.spec.artifact;
      if (a?.kind === "stored") {
        const at = (): string => {
          const pos = parseSpecFile(content, file).position(["artifact"]);
          return pos.line ? `${file}:${pos.line}:${pos.column}` : file;
        };
        // Relative to the spec file, as `berth apply` takes it — and inside the repository.
        const src = resolve(dirname(f.file), a.source);
        const srcReal = await realpath(src).catch(() => "");
        const rootReal = await realpath(root);
        if (isAbsolute(a.source) || !srcReal || (srcReal !== rootReal && !srcReal.startsWith(rootReal + sep))) {
          errors.push(`${at()}: artifact: ${a.source}: ${srcReal ? "outside the repository" : "not in the repository at this commit"}`);
          continue;
        }
        let p = packs.get(srcReal);
        if (!p) {
          try {
            await lstat(srcReal);
            p = { ...(await packArtifact(srcReal)) };
          } catch (e) {
            errors.push(`${at()}: artifact: ${a.source}: ${(e as Error).message}`);
            continue;
          }
          packs.set(srcReal, p);
        }
        sha = p.sha256;
      }
      files.push({ file, content, artifact_sha256: sha });
    }
  } catch (e) {
    await Promise.all([...packs.values()].map((p) => rm(p.file, { force: true })));
    throw e;
  }
  return out();
}
