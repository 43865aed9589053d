/** Polls until cond() holds; a deadline, not a sleep, bounds the wait. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}
