/**
 * Rewrites the CLI reference in README.md (between the cli-reference markers) from the command tree
 * of the built CLI. Run after changing a command or an option: `npm run docs:cli`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { renderCliReference } from "../apps/cli/dist/cli-reference.js";
import { buildProgram } from "../apps/cli/dist/program.js";
import { replaceCliReference } from "../apps/cli/dist/readme-section.js";

const readme = new URL("../README.md", import.meta.url);
const text = await readFile(readme, "utf8");
await writeFile(readme, replaceCliReference(text, renderCliReference(buildProgram())));
process.stderr.write("README.md: CLI reference updated\n");
