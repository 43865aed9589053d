/** Small pieces every page uses: badges, sparklines, times, the confirmation dialog. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { BerthEvent, UsageSample } from "./types";

export function ago(ms: number, now = Date.now()): string {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export const time = (ms: number): string => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "");

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 10 || i === 0 ? 0 : 1)} ${units[i]}`;
}

export function Badge({ value }: { value: string }) {
  return <span class={`badge badge-${value.replace(/[^a-z-]/g, "")}`}>{value}</span>;
}

/** A line of the last minutes' samples, 0–100. */
export function Sparkline({ samples, pick, label }: { samples: UsageSample[]; pick: (s: UsageSample) => number; label: string }) {
  const w = 60;
  const h = 16;
  const last = samples[samples.length - 1];
  const pts = samples.map((s, i) => `${samples.length === 1 ? w : (i / (samples.length - 1)) * w},${h - (Math.min(100, Math.max(0, pick(s))) / 100) * h}`).join(" ");
  return (
    <span class="spark" title={`${label}: ${samples.map((s) => pick(s).toFixed(0)).join(" ")}`}>
      <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-hidden="true">
        <polyline points={pts} fill="none" stroke="currentColor" stroke-width="1.5" />
      </svg>
      <span class="spark-value">{last ? `${pick(last).toFixed(0)}%` : "–"}</span>
    </span>
  );
}

/**
 * Event types that come first on the overview: something is wrong. cert.expiring and
 * cert.expired (controller/pki/expiry-watch.ts) match "expir"; host.removed is named:
 * an operator took a host out, which the others on call should see first too.
 */
export const isWarning = (e: BerthEvent): boolean => e.type === "host.removed" || /down|fail|revert|quarantin|expir|lost|refused|paused|unreachable|error/.test(e.type);

/** How long until `ms`: "5d 3h left", "3h left", "expired 2h ago"; "unknown" for 0. */
export function timeLeft(ms: number, now = Date.now()): string {
  if (!ms) return "unknown";
  if (ms <= now) return `expired ${ago(ms, now)}`;
  const s = Math.round((ms - now) / 1000);
  if (s < 3600) return `${Math.max(1, Math.floor(s / 60))}m left`;
  if (s < 86400) return `${Math.floor(s / 3600)}h left`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h left`;
}

export function EventList({ events, testid = "events" }: { events: BerthEvent[]; testid?: string }) {
  if (!events.length) return <p class="muted">No events.</p>;
  return (
    <table class="table" data-testid={testid}>
      <thead>
        <tr>
          <th>time</th>
          <th>type</th>
          <th>host</th>
          <th>service</th>
          <th>message</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.seq} class={isWarning(e) ? "warn" : ""} data-type={e.type}>
            <td class="nowrap">{time(e.time_ms)}</td>
            <td class="nowrap">{e.type}</td>
            <td>{e.host ? <a href={`#/hosts/${encodeURIComponent(e.host)}`}>{e.host}</a> : ""}</td>
            <td>{e.service ? <a href={`#/services/${encodeURIComponent(e.service)}`}>{e.service}</a> : ""}</td>
            <td>{e.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * A button that acts only after a confirmation saying what will happen.
 * `run` throws to report a refusal, which the dialog shows.
 */
export function ConfirmButton({ label, title, what, run, danger = false }: { label: string; title: string; what: ComponentChildren; run: () => Promise<unknown>; danger?: boolean }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const go = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await run();
      setOpen(false);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button class={danger ? "btn danger" : "btn"} data-action={label} onClick={() => setOpen(true)}>
        {label}
      </button>
      {open && (
        <div class="modal-back" role="presentation">
          <div class="modal" role="dialog" aria-modal="true" aria-label={title}>
            <h3>{title}</h3>
            <p class="what">{what}</p>
            {error && <p class="error" role="alert">{error}</p>}
            <div class="modal-buttons">
              <button class="btn" onClick={() => setOpen(false)} disabled={busy}>
                Cancel
              </button>
              <button class={danger ? "btn danger" : "btn primary"} data-confirm={label} onClick={() => void go()} disabled={busy}>
                {busy ? "…" : `Yes, ${label.toLowerCase()}`}
              </button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}

export function Loading({ error }: { error?: string }) {
  return error ? <p class="error" role="alert">{error}</p> : <p class="muted">Loading…</p>;
}
