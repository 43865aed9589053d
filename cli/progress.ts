/**
 * Progress for long waits (drain --wait, apply --wait, rollout status -w): on a
 * terminal, a live block — a spinner, a bar when the total is known, a label,
 * and optional detail lines under it — redrawn in place; piped, or with NO_COLOR
 * or CI set, plain lines, one per change, that read well in a log.
 *
 *   const p = progress({ total: 3 });
 *   p.update({ done: 1, label: "web: 1/3 healthy", lines: ["web-0 healthy", "web-1 starting"] });
 *   p.line("web-0 moved to 3fa9");   // a permanent line, printed above the live block
 *   p.done("web: 3/3 healthy");      // clears the live block, prints the last word
 */

import { render, type Cell } from "./output.js";

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** @default process.stderr (stdout stays clean for data) */
  stream?: ProgressStream;
  total?: number;
  label?: Cell;
  /** Where NO_COLOR and CI are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Spinner frame period on a terminal; 0: no animation (tests). @default 100 */
  spinMs?: number;
}

export interface ProgressUpdate {
  done?: number;
  total?: number;
  label?: Cell;
  /** Detail lines under the main one (live) or printed when they change (plain). */
  lines?: Cell[];
}

export interface Progress {
  /** True when drawing in place on a terminal. */
  readonly live: boolean;
  update(u: ProgressUpdate): void;
  /** A permanent line, above the live block. */
  line(text: Cell): void;
  /** Ends the display; `text`, if any, is its last line. Later calls do nothing. */
  done(text?: Cell): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const BAR = 20;
const CLEAR_LINE = "\u001b[K";
const CLEAR_DOWN = "\u001b[J";
const up = (n: number): string => (n > 0 ? `\u001b[${n}A` : "");

/** Live only on a terminal, and not where plain text is asked for (NO_COLOR) or logged (CI). */
/** A line with its durations blanked: two lines that differ only in a ticking time are the same news. Pure. */
export function ticking(line: string): string {
  // "just now" is the first tick of an age ("just now", "1s ago", "2s ago", …).
  return line.replace(/\b\d+(?:\.\d+)?(?:ms|s|m|h)\b/g, "…").replace(/\bjust now\b/g, "… ago");
}

export function isLive(stream: ProgressStream, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && !env.CI;
}

/** "3/5", a 20-cell bar when the total is known: [██████░░░░░░░░░░░░░░] 3/5 */
export function bar(done: number, total: number | undefined): string {
  if (!total || total <= 0) return done ? `${done}` : "";
  const d = Math.max(0, Math.min(done, total));
  const filled = Math.round((d / total) * BAR);
  return `[${"█".repeat(filled)}${"░".repeat(BAR - filled)}] ${done}/${total}`;
}

/** The main line's text without the spinner (what plain mode prints). */
function summary(s: { done: number; total: number | undefined; label: string }, withBar: boolean): string {
  const count = withBar ? bar(s.done, s.total) : s.total ? `${s.done}/${s.total}` : "";
  return [count, s.label].filter(Boolean).join(" ");
}

export function progress(o: ProgressOptions = {}): Progress {
  const stream = o.stream ?? process.stderr;
  const live = isLive(stream, o.env ?? process.env);
  // Every text goes through render(): what hosts report (reasons, details) is
  // sanitized before the display adds its own cursor moves around it.
  const state = { done: 0, total: o.total, label: render(o.label ?? ""), lines: [] as string[] };
  let frame = 0;
  let drawn = 0; // lines of the live block now on screen
  let ended = false;
  let lastPlain = "";
  let lastLines = new Set<string>();

  const fit = (s: string): string => {
    // A line wider than the terminal wraps, and the cursor-up count would be wrong.
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    return [...s].length > width ? [...s].slice(0, width - 1).join("") + "…" : s;
  };
  const clear = (): string => (drawn ? `\r${up(drawn - 1)}${CLEAR_DOWN}` : "");
  const block = (): string[] => [fit(`${FRAMES[frame % FRAMES.length]} ${summary(state, true)}`), ...state.lines.map((l) => fit(`  ${l}`))];
  const redraw = (): void => {
    const lines = block();
    stream.write(`${clear()}${lines.join(`${CLEAR_LINE}\n`)}${CLEAR_LINE}`);
    drawn = lines.length;
  };

  const timer = live && (o.spinMs ?? 100) > 0 ? setInterval(() => (frame++, redraw()), o.spinMs ?? 100) : undefined;
  timer?.unref();

  const plain = (): void => {
    const text = summary(state, false);
    if (text && text !== lastPlain) stream.write(`${text}\n`);
    lastPlain = text;
    // Detail lines: only the ones that are new since the last update — a countdown or an
    // age that only ticks ("next attempt in 8s", "7s", …) is not new: a log gets one line, not one a second.
    for (const l of state.lines) if (!lastLines.has(ticking(l))) stream.write(`  ${l}\n`);
    lastLines = new Set(state.lines.map(ticking));
  };

  if (live) redraw();
  else plain();

  return {
    live,
    update(u) {
      if (ended) return;
      if (u.done !== undefined) state.done = u.done;
      if (u.total !== undefined) state.total = u.total;
      if (u.label !== undefined) state.label = render(u.label);
      if (u.lines !== undefined) state.lines = u.lines.map(render);
      if (live) redraw();
      else plain();
    },
    line(cell) {
      if (ended) return;
      const text = render(cell);
      if (!live) {
        stream.write(`${text}\n`);
        return;
      }
      stream.write(`${clear()}${text}${CLEAR_LINE}\n`);
      drawn = 0;
      redraw();
    },
    done(text) {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      if (live) stream.write(clear());
      drawn = 0;
      if (text) stream.write(`${render(text)}\n`);
    },
  };
}
