/**
 * The end of a cluster test file, the same everywhere: after a failed test the
 * fleet's logs go to stderr (where the failure is read), and after the file the
 * fleet is destroyed — processes, namespaces and files — also when tests failed.
 */
import { afterAll, afterEach } from "vitest";

export interface Fleet {
  dumpLogs(): Promise<string>;
  destroy(): Promise<void>;
}

/** Registers both hooks for the fleet `fleet()` returns (undefined until it started). */
export function tearDownWith(fleet: () => Fleet | undefined): void {
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await fleet()?.dumpLogs());
  });
  afterAll(async () => {
    await fleet()?.destroy();
  });
}
