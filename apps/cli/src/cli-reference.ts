import { isRequired } from "@wgp-farm/config";
import type { Command, Option } from "commander";

function optionRow(option: Option): string {
  const choices = option.argChoices ? ` (${option.argChoices.join(", ")})` : "";
  const cells = [
    `\`${option.flags}\``,
    option.envVar ? `\`${option.envVar}\`` : "",
    isRequired(option) ? "required" : (option.defaultValueDescription ?? ""),
    `${option.description}${choices}`,
  ];
  return `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
}

/**
 * The README's CLI reference, made from the command tree itself, so that every option the CLI takes
 * is documented with its environment variable and default (a test keeps the README in step).
 */
export function renderCliReference(program: Command): string {
  const lines: string[] = [];
  for (const command of program.commands) {
    const args = command.registeredArguments.map((arg) =>
      arg.required ? `<${arg.name()}>` : `[${arg.name()}]`,
    );
    lines.push(
      `### \`wgp-farm ${[command.name(), ...args].join(" ")}\``,
      "",
      `${command.description()}.`,
      "",
    );
    const options = command.options.filter((option) => option.long !== "--help");
    if (options.length > 0) {
      lines.push("| option | env | default | |", "|---|---|---|---|", ...options.map(optionRow), "");
    }
  }
  return lines.join("\n").trimEnd();
}
