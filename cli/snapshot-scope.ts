/**
 * The top-level commands the CLI's start-up snapshot leaves out (cli/snapshot.ts):
 * the daemons, which load native packages (LevelDB, node-pty) a snapshot cannot
 * hold. cli/launcher.sh runs main.js for them; test/unit/cli/launcher.test.ts
 * holds its list to this one.
 */
export const NOT_IN_SNAPSHOT = ["controller", "agent", "dev", "lb"] as const;
