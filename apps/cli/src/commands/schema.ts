import { taskListJsonSchema } from "@wgp-farm/tasks";
import type { Command } from "commander";
import { printJson } from "../output/format.js";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description('print the JSON Schema of tasks.json (for editors: "$schema" or json.schemas settings)')
    .action(() => printJson(taskListJsonSchema()));
}
