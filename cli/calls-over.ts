/**
 * Whether the command's calls to the controller are over (withApi returned). A client
 * command then exits as soon as its action does: a channel still dialing a member
 * that accepted the TCP connection and never answered (a paused or cut-off process)
 * holds Node's event loop open until the kernel gives the connection up, minutes
 * later, after everything was printed. Daemons never open an API this way, and keep
 * running after their action returns. Its own module: cli/program.ts stays light.
 */
let over = false;

export function markCallsOver(): void {
  over = true;
}

export function callsOver(): boolean {
  return over;
}
