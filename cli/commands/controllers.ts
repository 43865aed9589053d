/** `berth controllers`: descriptor; cli/run/controllers.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/controllers.js");

export function registerControllers(program: Command): void {
  const controllers = program
    .command("controllers")
    .description("the controller group: its members (and those gone: lost or left, until they come back or are forgotten), which leads and since when, their agents, and each etcd endpoint's health")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth controllers\n  berth controllers -o json | jq -r '.members[] | select(.leader) | .id'\n  berth controllers forget c3   # a member gone for good")
    .action(lazy(run, (m) => m.controllers));
  controllers
    .command("forget <id>")
    .description("admin: stop showing a member that is gone for good (decommissioned); refused while it is registered")
    .addHelpText("after", "\nExample:\n  berth controllers forget c3")
    .action(lazy(run, (m) => m.forget));
}
