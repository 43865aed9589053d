/**
 * Streams a stored artifact down a server stream, the first chunk carrying its
 * digest and size: to an agent (AgentService.FetchArtifact) or to another member
 * (MemberService.FetchArtifact). Waits for the socket to drain between chunks, so
 * a slow reader holds a read stream open, never the file in memory; a reader that
 * goes away ends the read.
 */
import type * as grpc from "@grpc/grpc-js";
import type { ArtifactStore } from "../../artifacts/artifact-store.js";

interface ChunkCall {
  write(m: { sha256: string; size: number; data: Buffer }): boolean;
  end(): void;
  emit(event: "error", err: Error): boolean;
  on(event: "cancelled", fn: () => void): unknown;
  once(event: "drain", fn: () => void): unknown;
}

/** Rejects only with the read's error (the call has had no status then); a cancelled call resolves. */
export async function streamArtifact(call: ChunkCall, artifacts: Pick<ArtifactStore, "read">, sha256: string, size: number): Promise<void> {
  let cancelled = false;
  const src = artifacts.read(sha256);
  const wake: (() => void)[] = [];
  call.on("cancelled", () => {
    cancelled = true;
    src.destroy();
    for (const w of wake.splice(0)) w();
  });
  try {
    let first = true;
    for await (const chunk of src as AsyncIterable<Buffer>) {
      if (cancelled) return;
      const ok = call.write({ sha256: first ? sha256 : "", size: first ? size : 0, data: chunk });
      first = false;
      // Wait for the socket to drain, or for the client to give up.
      if (!ok) {
        await new Promise<void>((r) => {
          wake.push(r);
          call.once("drain", () => r());
        });
      }
    }
    if (!cancelled) call.end();
  } catch (err) {
    if (cancelled) return;
    throw err;
  }
}

/** Ends a server stream with a status. */
export function failStream(call: Pick<ChunkCall, "emit">, code: grpc.status, details: string): void {
  call.emit("error", Object.assign(new Error(details), { code, details }));
}
