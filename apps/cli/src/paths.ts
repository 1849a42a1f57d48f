import path from "node:path";
import { fileURLToPath } from "node:url";

/** apps/cli, whether running from dist/ or src/. */
export const CLI_PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The workspace checkout the CLI was built in (examples/, engine-py/, test fixtures). */
export const WORKSPACE_ROOT = path.resolve(CLI_PACKAGE_DIR, "..", "..");

export const EXAMPLE_TASKS_FILE = path.join(WORKSPACE_ROOT, "examples", "tasks.json");
/** The demo's tasks: a few dozen over three models, one retried, one cancelled, one misspelt field. */
export const DEMO_TASKS_FILE = path.join(WORKSPACE_ROOT, "examples", "demo-tasks.json");
