/** `berth controllers`: descriptor; cli/run/controllers.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/controllers.js");

export function registerControllers(program: Command): void {
  program
    .command("controllers")
    .description("the controller group: its members, which leads and since when, their agents, and each etcd endpoint's health")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth controllers\n  berth controllers -o json | jq -r '.members[] | select(.leader) | .id'")
    .action(lazy(run, (m) => m.controllers));
}
