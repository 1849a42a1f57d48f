import type { z } from "zod";
import { UserError } from "./errors.js";

/** One configurable option: its flag, its environment variable and its help text. */
export interface OptionSpec {
  /** camelCase key, as commander stores the flag (`--main-output-dir` → `mainOutputDir`). */
  key: string;
  /** Environment variable read when the flag is not given. */
  env?: string;
}

export class ConfigError extends UserError {
  override name = "ConfigError";
}

/**
 * Resolves configuration in the project's order: flags, then environment, then the schema's defaults.
 * `flags` holds only what the user typed (commander options are declared without defaults so that an
 * absent flag is undefined and the environment can fill it).
 */
export function resolveSettings<S extends z.ZodType>(
  schema: S,
  specs: readonly OptionSpec[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const merged: Record<string, unknown> = {};
  for (const spec of specs) {
    const fromFlag = flags[spec.key];
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromFlag !== undefined) merged[spec.key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== "") merged[spec.key] = fromEnv;
  }
  for (const [key, value] of Object.entries(flags)) {
    if (!(key in merged) && value !== undefined) merged[key] = value;
  }
  const parsed = schema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const spec = specs.find((s) => s.key === key);
    const source = describeSource(key, spec, flags);
    return `${source}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
}

function describeSource(key: string, spec: OptionSpec | undefined, flags: Record<string, unknown>): string {
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (flags[key] !== undefined || !spec?.env) return flag;
  return `${flag} (from ${spec.env})`;
}
