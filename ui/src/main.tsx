/**
 * The berth web console: sign-in, then the fleet live. Routes live in the URL's
 * fragment (#/hosts/…), so the controller serves one page and a sign-in code in
 * a link (#/signin/CODE) never reaches a server log or a Referer.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, fleetChanged, get, post, setSession, useSession, useStream, type StreamState } from "./api";
import type { BerthEvent, Session } from "./types";
import { OverviewPage } from "./pages/overview";
import { HostPage, HostsPage } from "./pages/hosts";
import { ServicePage, ServicesPage } from "./pages/services";
import { RolloutsPage } from "./pages/rollouts";
import { EventsPage } from "./pages/events";
import { AuditPage } from "./pages/audit";
import { ControllersPage } from "./pages/controllers";
import "./style.css";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ message }: { message?: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(message);
  const submit = (e: Event): void => {
    e.preventDefault();
    post<Session>("/api/session", { token: token.trim() }).then(
      (s) => {
        setToken("");
        setSession(s);
      },
      (err: unknown) => setError((err as Error).message),
    );
  };
  return (
    <main class="signin">
      <h1>berth</h1>
      <form onSubmit={submit}>
        <label>
          Sign in with a berth token (viewer, operator or admin)
          <input type="password" name="token" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} placeholder="bt1.…" />
        </label>
        <button class="btn primary" type="submit">
          Sign in
        </button>
        {error && <p class="error" role="alert">{error}</p>}
        <p class="muted small">The token is kept in a cookie this page's scripts cannot read, sent only to this controller. `berth token create --role viewer` makes one.</p>
      </form>
    </main>
  );
}

function Page({ hash, session }: { hash: string; session: Session }) {
  const [, route, arg] = /^#\/([a-z]*)\/?(.*)$/.exec(hash) ?? [];
  const param = decodeURIComponent(arg ?? "");
  switch (route ?? "") {
    case "":
      return <OverviewPage />;
    case "hosts":
      return param ? <HostPage id={param} /> : <HostsPage />;
    case "services":
      return param ? <ServicePage name={param} /> : <ServicesPage />;
    case "rollouts":
      return <RolloutsPage />;
    case "events":
      return <EventsPage />;
    case "controllers":
      return <ControllersPage />;
    case "audit":
      return session.role === "admin" ? <AuditPage /> : <p class="error">The audit log is for admins.</p>;
    default:
      return <p class="error">No such page.</p>;
  }
}

function Shell({ session, hash }: { session: Session; hash: string }) {
  const [state, setState] = useState<StreamState>("connecting");
  // One stream of the fleet's events (the watch `berth events -f` uses): every page reloads on a change.
  useStream<BerthEvent>("/api/watch/events", () => fleetChanged(), (s) => {
    setState(s);
    if (s === "live") fleetChanged();
  });
  const nav: [string, string][] = [
    ["#/", "Overview"],
    ["#/hosts", "Hosts"],
    ["#/services", "Services"],
    ["#/rollouts", "Rollouts"],
    ["#/events", "Events"],
    ["#/controllers", "Controllers"],
    ...(session.role === "admin" ? ([["#/audit", "Audit"]] as [string, string][]) : []),
  ];
  const current = (href: string): boolean => (href === "#/" ? hash === "" || hash === "#/" : hash.startsWith(href));
  return (
    <>
      <header class="top">
        <span class="brand">berth</span>
        {session.environment && (
          <span class="env" data-testid="environment" title="the environment this controller serves">
            {session.environment}
          </span>
        )}
        <nav>
          {nav.map(([href, label]) => (
            <a key={href} href={href} class={current(href) ? "current" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <span class={`live ${state}`} data-testid="live" title="updates from the controller">
          {state === "live" ? "● live" : state === "connecting" ? "○ connecting" : "○ reconnecting…"}
        </span>
        <span class="who" data-testid="role">
          {session.role} · {session.signed_in_with ? `${session.signed_in_with} (session ${session.token_id})` : session.token_id}
        </span>
        <button class="btn small" onClick={() => void del("/api/session").finally(() => setSession(null))}>
          Sign out
        </button>
      </header>
      {session.warning && (
        <p class="error" role="alert" data-testid="session-warning">
          {session.warning}
        </p>
      )}
      <main class="content">
        <Page hash={hash} session={session} />
      </main>
    </>
  );
}

function App() {
  const session = useSession();
  const hash = useHash();
  const [message, setMessage] = useState<string | undefined>(undefined);
  useEffect(() => {
    const code = /^#\/signin\/([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
    if (code) {
      // A one-time code from `berth dev`: traded for the session cookie, then gone from the address bar.
      history.replaceState(null, "", "#/");
      post<Session>("/api/session", { code }).then(setSession, (e: unknown) => {
        setMessage((e as Error).message);
        setSession(null);
      });
      return;
    }
    get<Session>("/api/session").then(setSession, (e: unknown) => {
      if (!(e instanceof ApiError && e.status === 401)) setMessage((e as Error).message);
      setSession(null);
    });
  }, []);
  if (session === undefined) return <p class="muted">…</p>;
  if (session === null) return <SignIn message={message} />;
  return <Shell session={session} hash={hash} />;
}

render(<App />, document.getElementById("app")!);
