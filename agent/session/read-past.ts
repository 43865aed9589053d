/**
 * AgentSession.readPast's bookkeeping for one stream: callbacks waiting for the
 * controller to have read what the agent sent before them. Each waits for the answer
 * to a heartbeat sent after it was added: the stream is ordered, and the controller
 * takes a message in before it answers a later one. `after` is the seq of the last
 * heartbeat sent (or skipped) when it was added; an answer to that one or an earlier
 * one proves nothing, since it may have left first.
 */
export class ReadWaiters {
  private readonly waiting: { after: number; cb: () => void }[] = [];

  add(after: number, cb: () => void): void {
    this.waiting.push({ after, cb });
  }

  /** The controller answered heartbeat `seq`: runs (once) and drops every callback added before it was sent. */
  answered(seq: number, onError: (err: unknown) => void): void {
    const due = this.waiting.filter((w) => seq > w.after);
    if (due.length === 0) return;
    for (const w of due) this.waiting.splice(this.waiting.indexOf(w), 1);
    for (const w of due) {
      try {
        w.cb();
      } catch (err) {
        onError(err);
      }
    }
  }

  get size(): number {
    return this.waiting.length;
  }
}
