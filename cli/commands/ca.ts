/** `berth ca status|rotate|bundle`: descriptors; cli/run/ca.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/ca.js");

export function registerCa(program: Command): void {
  const ca = program.command("ca").description("the controller's CA: its rotation, and the CAs clients trust");
  ca.command("status")
    .description("the CA's phase (idle or rotating), the current and the new CA, which hosts are still on the old one, and since when")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExamples:\n  berth ca status\n  berth ca status -o json | jq '.hosts_on_old | length'")
    .action(lazy(run, (m) => m.caStatus));
  ca.command("rotate")
    .description("introduce a new CA: every host trusts both, renews onto the new one within --spread, and the old one is retired once no host's certificate is signed by it (admin)")
    .option("--spread <duration>", "hosts renew at a random moment within this (at most 24h)", "60s")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText(
      "after",
      "\nThe CA file this CLI uses (BERTH_CA, else the config file) is updated to trust both CAs. Other operators\nrun `berth ca bundle > ca.crt` (and point BERTH_CA at it) before the rotation completes: the controller\nthen serves a certificate of the new CA.\n\nExample:\n  berth ca rotate --spread 5m && berth ca status",
    )
    .action(lazy(run, (m) => m.caRotate));
  ca.command("bundle")
    .description("print the CAs to trust now (PEM): both during a rotation, the new one after it")
    .option("--write", "also store it where this CLI reads its CA (BERTH_CA, else the config file)")
    .addHelpText("after", "\nExample:\n  berth ca bundle > ca.crt && export BERTH_CA=$PWD/ca.crt")
    .action(lazy(run, (m) => m.caBundle));
}
