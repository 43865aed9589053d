/**
 * Commands are registered from light descriptors: name, arguments, options and
 * help, all commander needs for --help, usage errors and shell completion. What a
 * command does lives in a module under cli/run/, imported only when the command
 * runs: `berth services` loads the gRPC client and what it uses, `berth --help`
 * loads none of it, and only `berth controller`/`agent`/`dev` load their daemon's
 * world (LevelDB, system probes, ptys, x509 issuing). Start-up is paid on every
 * `berth` run, by people and by scripts polling it (README, "Performance").
 */

/**
 * An action that imports its implementation module when it runs. `pick` names the
 * function; it gets commander's action arguments: the positional arguments, the
 * options, and the command (for the global flags: `globalsOf(cmd)`).
 */
export function lazy<M>(load: () => Promise<M>, pick: (m: M) => (...args: never[]) => unknown): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]): Promise<void> => {
    const run = pick(await load()) as (...a: unknown[]) => unknown;
    await run(...args);
  };
}

