/**
 * The nginx shell: renders the upstream file, checks it with `nginx -t`, reloads
 * (old workers finish their requests). Changes are debounced (debounce.ts). A
 * file that fails the check is replaced by the last good one at once, and the
 * failure is logged, counted and reported.
 */
import { execFile } from "node:child_process";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { changed, dueAtMs, IDLE, type Debounce, type DebounceWindow } from "./debounce.js";
import { Driver, LbStepError, type DriverDeps } from "./driver.js";
import { renderUpstream } from "./nginx-upstream.js";

export interface NginxOptions {
  service: string;
  upstream: string;
  upstreamFile: string;
  /** The nginx binary. @default "nginx" */
  nginx: string;
  /** nginx's main config, for `-c` of the check and of the default reload; undefined: nginx's own default. */
  nginxConfig?: string;
  /** Run with /bin/sh -c instead of `nginx -s reload`. */
  reloadCmd?: string;
  serverOptions?: string;
  wait: DebounceWindow;
}

/** @default quiet 500 ms, at most 2 s: a drained copy leaves nginx within 2 s plus a reload; drainTime should be longer. */
export const DEFAULT_WAIT: DebounceWindow = { quietMs: 500, maxMs: 2000 };
const EXEC_TIMEOUT_MS = 30_000;

function run(file: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: EXEC_TIMEOUT_MS }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      resolve({ ok: !err, output: output || (err ? err.message : "") });
    });
  });
}

/** The lines that say why (nginx -t prints its verdict on stderr, one line each). */
const why = (output: string): string =>
  output
    .split("\n")
    .filter((l) => /emerg|error|failed|crit|alert|not found|No such/i.test(l))
    .join("; ")
    .slice(0, 800) || output.slice(-800);

export class NginxDriver extends Driver {
  private debounce: Debounce = IDLE;
  /** The file as last checked good and loaded. */
  private good: string | undefined;
  private reloadPending = false;

  constructor(
    d: DriverDeps,
    private readonly o: NginxOptions,
  ) {
    super(d);
  }

  private render(): string | undefined {
    const want = this.desired;
    return want && renderUpstream({ upstream: this.o.upstream, service: this.o.service, servers: want.servers, serverOptions: this.o.serverOptions, version: "" });
  }

  protected override onDesired(): void {
    // A list that renders what is loaded already (a report of ours, a restarted
    // controller sending the same list) is applied as it is: no reload.
    if (this.good !== undefined && this.render() === this.good && !this.reloadPending) {
      this.debounce = IDLE;
      this.kick();
      return;
    }
    const now = this.d.now();
    this.debounce = changed(this.debounce, now);
    this.scheduleIn((dueAtMs(this.debounce, this.o.wait) ?? now) - now);
  }

  protected async step(): Promise<number | null> {
    const want = this.desired;
    const text = this.render();
    if (!want || text === undefined) return null;
    const now = this.d.now();
    const due = dueAtMs(this.debounce, this.o.wait);
    if (due !== null && due > now) return due - now;
    this.debounce = IDLE;
    this.good ??= await readFile(this.o.upstreamFile, "utf8").catch(() => undefined);
    if (text !== this.good || this.reloadPending) {
      if (text !== this.good) await this.writeChecked(text);
      await this.reload();
      this.d.metrics.tookChange(want.servers.length, now);
    }
    if (this.applied.version !== want.version) this.setApplied({ version: want.version, appliedAtMs: this.d.now(), servers: want.servers.length, error: "" });
    return null;
  }

  /** Writes the file, checks nginx's whole config with it; on a failed check puts the last good file back. */
  private async writeChecked(text: string): Promise<void> {
    const path = this.o.upstreamFile;
    const put = async (t: string | undefined): Promise<void> => {
      if (t === undefined) return unlink(path).catch(() => undefined);
      const tmp = `${path}.berth-tmp`;
      await writeFile(tmp, t);
      await rename(tmp, path);
    };
    try {
      await put(text);
    } catch (err) {
      throw new LbStepError("config", `cannot write ${path}: ${(err as Error).message}`, { cause: err });
    }
    const check = await run(this.o.nginx, ["-t", "-q", ...(this.o.nginxConfig ? ["-c", this.o.nginxConfig] : [])]);
    if (!check.ok) {
      await put(this.good).catch((err: unknown) => this.d.log.error({ err, file: path }, "putting the last good upstream file back failed"));
      throw new LbStepError("check", `nginx -t failed with the new ${path}, the last good file is back in place: ${why(check.output)}`);
    }
    this.good = text;
    this.reloadPending = true;
  }

  private async reload(): Promise<void> {
    const r = this.o.reloadCmd ? await run("/bin/sh", ["-c", this.o.reloadCmd]) : await run(this.o.nginx, ["-s", "reload", ...(this.o.nginxConfig ? ["-c", this.o.nginxConfig] : [])]);
    if (!r.ok) throw new LbStepError("reload", `${this.o.reloadCmd ? `--reload-cmd "${this.o.reloadCmd}"` : "nginx -s reload"} failed (the checked file is in place; retrying): ${why(r.output)}`);
    this.reloadPending = false;
    this.d.metrics.reloads.inc();
    this.d.log.info({ file: this.o.upstreamFile, servers: this.desired?.servers.length }, "nginx: upstream file written, checked and reloaded");
  }
}
