import { Command } from "commander";
import { registerApi } from "./commands/api.js";
import { registerCancel } from "./commands/cancel.js";
import { registerClean } from "./commands/clean.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerHeadless } from "./commands/headless.js";
import { registerImportTasks } from "./commands/import-tasks.js";
import { registerLs } from "./commands/ls.js";
import { registerPauseResume } from "./commands/pause.js";
import { registerPostprocess } from "./commands/postprocess.js";
import { registerPrefetch } from "./commands/prefetch.js";
import { registerRetry } from "./commands/retry.js";
import { registerSchema } from "./commands/schema.js";
import { registerStatus } from "./commands/status.js";
import { registerToken } from "./commands/token.js";
import { registerWatch } from "./commands/watch.js";
import { registerWebhook } from "./commands/webhook.js";
import { registerWorker } from "./commands/worker.js";

export const CLI_VERSION = "0.1.0";

/** The `wgp-farm` command tree, in the order --help and the README list it. */
export function buildProgram(): Command {
  const program = new Command()
    .name("wgp-farm")
    .description(
      "Run WanGP (Wan2GP) video generation on a farm of GPUs: tasks.json → Redis queues → one warm WanGP per GPU.",
    )
    .version(CLI_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  // One machine
  registerDemo(program);
  registerHeadless(program);
  // Tasks in
  registerImportTasks(program);
  registerWatch(program);
  registerSchema(program);
  // The farm
  registerWorker(program);
  registerDashboard(program);
  registerApi(program);
  registerToken(program);
  registerWebhook(program);
  registerStatus(program);
  registerLs(program);
  registerCancel(program);
  registerRetry(program);
  registerPostprocess(program);
  registerPauseResume(program);
  registerClean(program);
  // A host
  registerDoctor(program);
  registerPrefetch(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}
