import { useState } from "preact/hooks";
import { useLive, useStream } from "../api";
import type { BerthEvent } from "../types";
import { EventList, Loading } from "../ui";

export function EventsPage() {
  const [host, setHost] = useState("");
  const [service, setService] = useState("");
  const [type, setType] = useState("");
  const q = new URLSearchParams({ limit: "500", ...(host ? { host } : {}), ...(service ? { service } : {}) }).toString();
  const { data, error } = useLive<{ events: BerthEvent[] }>(`/api/events?${q}`, 30_000);
  const [live, setLive] = useState<BerthEvent[]>([]);
  const newest = data?.events[data.events.length - 1]?.seq ?? 0;
  useStream<BerthEvent>(data ? `/api/watch/events?${q}&after_seq=${newest}` : null, (e) => setLive((l) => [...l.filter((x) => x.seq > newest), e].slice(-500)));
  const input = (label: string, v: string, set: (s: string) => void) => (
    <input type="search" placeholder={label} aria-label={label} value={v} onChange={(e) => set((e.target as HTMLInputElement).value.trim())} />
  );
  // The filters stay on screen when the list cannot come (an unknown host, say): the user fixes them there.
  const all = data ? [...data.events, ...live.filter((e) => e.seq > newest)].filter((e) => !type || e.type === type || e.type.startsWith(`${type}.`)).reverse() : [];
  return (
    <section>
      <h2>Events</h2>
      <div class="filters">
        {input("host (id or id prefix)", host, setHost)}
        {input("service", service, setService)}
        {input("type (e.g. host or host.down)", type, setType)}
      </div>
      {data ? <EventList events={all} /> : <Loading error={error} />}
    </section>
  );
}
