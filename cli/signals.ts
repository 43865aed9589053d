/** How a long-running berth command (a daemon: controller, agent, lb) learns it is asked to stop. */

/**
 * The first SIGINT or SIGTERM. The handlers stay: the same stop often comes twice (a
 * signal to a process group and its parent passing it on), and a second one with no
 * handler would kill the daemon half way through stopping (an agent before it has
 * stopped its services). SIGKILL is there for one that does not stop.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    let first = true;
    const on = (sig: NodeJS.Signals) => (): void => {
      if (!first) return void process.stderr.write(`${sig} again: already stopping\n`);
      first = false;
      res(sig);
    };
    process.on("SIGINT", on("SIGINT"));
    process.on("SIGTERM", on("SIGTERM"));
  });
}
