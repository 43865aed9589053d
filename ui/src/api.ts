/**
 * The console's side of the controller's JSON + event-stream API. The berth token
 * lives only in an HttpOnly cookie the page cannot read; mutating calls carry the
 * CSRF token the server hands out with the session.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Session } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();
let session: Session | null | undefined;

export const currentSession = (): Session | null | undefined => session;
export function setSession(s: Session | null): void {
  session = s;
  for (const l of listeners) l();
}
export function useSession(): Session | null | undefined {
  const [, tick] = useState(0);
  useEffect(() => {
    const l = (): void => tick((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return session;
}
export const canOperate = (s: Session | null | undefined): boolean => s?.role === "operator" || s?.role === "admin";

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    if (session) headers["x-berth-csrf"] = session.csrf;
  }
  const res = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) {
    // The token was revoked or expired: back to the sign-in page.
    if (res.status === 401 && path !== "/api/session") setSession(null);
    throw new ApiError(res.status, data.error ?? res.statusText);
  }
  return data as T;
}

export const get = <T>(path: string): Promise<T> => request<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>("POST", path, body);
export const del = <T>(path: string): Promise<T> => request<T>("DELETE", path, {});

// Changes anywhere in the fleet (one event stream, the same watch as `berth events -f`):
// every page reloads what it shows when one arrives.
const changeListeners = new Set<Listener>();
export function onFleetChange(l: Listener): () => void {
  changeListeners.add(l);
  return () => void changeListeners.delete(l);
}
export function fleetChanged(): void {
  for (const l of changeListeners) l();
}

/** Reloads on mount, on every fleet change (debounced), and every `everyMs`. */
export function useLive<T>(path: string | null, everyMs = 5000): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const seq = useRef(0);
  const load = (): void => {
    if (path === null) return;
    const n = ++seq.current;
    get<T>(path).then(
      (d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(undefined);
      },
      (e: unknown) => {
        if (n === seq.current) setError((e as Error).message);
      },
    );
  };
  useEffect(() => {
    setData(undefined);
    load();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onFleetChange(() => {
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    });
    const every = setInterval(load, everyMs);
    return () => {
      off();
      clearTimeout(timer);
      clearInterval(every);
    };
  }, [path]);
  return { data, error, reload: load };
}

export type StreamState = "connecting" | "live" | "reconnecting";

/**
 * An event stream that reconnects by itself: EventSource retries after a dropped
 * connection (the controller restarting); when it gives up (an HTTP error while
 * the controller comes back), this opens a new one after a pause.
 */
export function useStream<T>(path: string | null, onMessage: (m: T) => void, onState?: (s: StreamState) => void): void {
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const stateRef = useRef(onState);
  stateRef.current = onState;
  useEffect(() => {
    if (path === null) return;
    let es: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const open = (): void => {
      if (closed) return;
      es = new EventSource(path);
      es.onopen = () => stateRef.current?.("live");
      es.onmessage = (ev: MessageEvent<string>) => {
        stateRef.current?.("live");
        handler.current(JSON.parse(ev.data) as T);
      };
      es.onerror = () => {
        stateRef.current?.("reconnecting");
        if (es?.readyState === EventSource.CLOSED) {
          es.close();
          // The session may have ended while away: ask before trying again.
          get<Session>("/api/session").then(setSession, (e: unknown) => {
            if (e instanceof ApiError && e.status === 401) setSession(null);
          });
          retry = setTimeout(open, 2000);
        }
      };
    };
    stateRef.current?.("connecting");
    open();
    return () => {
      closed = true;
      clearTimeout(retry);
      es?.close();
    };
  }, [path]);
}
