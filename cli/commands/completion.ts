/** `berth completion bash|zsh`: a completion script made from this very command tree. */
import { Argument, type Command } from "commander";
import { completionScript, SHELLS, type Shell } from "../completion.js";

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script (bash or zsh), made from berth's own commands")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  # bash, for this user (needs the bash-completion package):
  berth completion bash > ~/.local/share/bash-completion/completions/berth
  # or in ~/.bashrc:
  source <(berth completion bash)
  # zsh, in ~/.zshrc after compinit:
  source <(berth completion zsh)`,
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell, program));
    });
}
