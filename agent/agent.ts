/**
 * Starts an agent: gathers the host's facts (once, then in the background),
 * samples its usage, and runs the controller session.
 */
import { mkdir } from "node:fs/promises";
import type { LevelWithSilent } from "pino";
import { createLogger, type Logger } from "../shared/log/logger.js";
import type { Labels } from "../shared/labels.js";
import { VERSION } from "../shared/version.js";
import { FactsCache, UsageSampler } from "./facts/usage.js";
import { mapNodeOs, readNodeOs } from "./facts/facts.js";
import { AgentSession } from "./session/session.js";

export interface AgentOptions {
  dataDir: string;
  controller?: string;
  token?: string;
  labels?: Labels;
  advertiseAddr?: string;
  logLevel?: LevelWithSilent;
  logger?: Logger;
}

export interface AgentHandle {
  hostId: string;
  session: AgentSession;
  stop(): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const log = opts.logger ?? createLogger("agent", opts.logLevel ?? "info");
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const facts = new FactsCache({ agentVersion: VERSION, onError: (err) => log.warn({ err }, "refreshing host facts failed") });
  // The first collection is awaited (each call is bounded) so Join and Hello carry
  // real facts; later refreshes run in the background and never block a heartbeat.
  await facts.refresh().catch((err: unknown) => log.warn({ err }, "collecting host facts failed; reporting the basics"));
  facts.start();
  const fallback = { ...mapNodeOs(readNodeOs()), agent_version: VERSION };
  const usage = new UsageSampler({ dataDir: opts.dataDir, intervalMs: 1000, onError: (err) => log.warn({ err }, "usage sample failed") });
  usage.start();
  const session = new AgentSession({
    dataDir: opts.dataDir,
    controller: opts.controller,
    token: opts.token,
    labels: opts.labels ?? {},
    advertiseAddr: opts.advertiseAddr,
    log,
    facts: () => facts.current() ?? fallback,
    usage: () => usage.latest(),
  });
  try {
    const identity = await session.start();
    return {
      hostId: identity.hostId,
      session,
      async stop() {
        await session.stop();
        usage.stop();
        facts.stop();
      },
    };
  } catch (err) {
    usage.stop();
    facts.stop();
    throw err;
  }
}
