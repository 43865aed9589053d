/**
 * Soft rule: prefer hosts that already hold the service's artifact; the
 * instance starts sooner and the controller's artifact store serves less.
 */
import type { SchedHost } from "../types.js";

export function artifactScore(host: SchedHost, digest: string): 0 | 1 {
  return digest !== "" && host.artifacts.includes(digest) ? 1 : 0;
}
