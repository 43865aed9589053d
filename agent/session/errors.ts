/**
 * Why an agent stops for good: named, so the CLI can print the way out and exit,
 * and tests can tell them apart without matching text.
 */

export { REFUSAL_HOST_REMOVED, REFUSAL_KEY } from "../../shared/tls/refusal.js";

/** What to run to re-join a host keeping its id (the expired-certificate message names it). */
export function rejoinCommand(dataDir: string): string {
  return `berth agent --data-dir ${dataDir} --rejoin --token-file ./join.token`;
}

/**
 * The host's certificate expired (its agent was off longer than the certificate's
 * life, so it could not renew): no controller member will take it. The message
 * names the expiry and the exact commands to re-join keeping the host's id.
 */
export class CertificateExpiredError extends Error {
  override readonly name = "CertificateExpiredError";
  constructor(
    readonly hostId: string,
    readonly notAfterMs: number,
    readonly dataDir: string,
  ) {
    super(
      `the certificate of host ${hostId} expired at ${new Date(notAfterMs).toISOString()}: its agent was off longer than the certificate's lifetime, so it could not renew it. ` +
        `Re-join this host keeping its id: make a join token where the berth CLI is set up (berth token create --role agent --uses 1 > join.token), copy it here, then run: ` +
        `${rejoinCommand(dataDir)} (add --controller HOST:PORT if the controller moved; under systemd, stop the berth-agent unit first and start it again after)`,
    );
  }
}

/** `berth host remove`: this host is no longer part of the fleet; its certificate is refused. */
export class HostRemovedError extends Error {
  override readonly name = "HostRemovedError";
  constructor(
    readonly hostId: string,
    readonly reason: string,
    dataDir = "<data-dir>",
  ) {
    super(`host ${hostId} was removed from the fleet (${reason}); its services are stopped and its certificate is refused. To bring this machine back, join it as a new host: remove ${dataDir}/identity and run berth agent with a new join token`);
  }
}
