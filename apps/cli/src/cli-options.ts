import { type OptionSpec, resolveSettings } from "@wgp-farm/config";
import { type Command, Option } from "commander";
import type { z } from "zod";

/** A flag with the environment variable that can stand in for it and the default shown in --help. */
export interface CliOption {
  flags: string;
  description: string;
  env?: string;
  /** The default as shown in --help; the value itself lives in the command's zod schema. */
  defaultText?: string;
  choices?: readonly string[];
}

/**
 * Declares options without commander defaults (so that an absent flag lets the environment decide)
 * and documents env and default in --help. Returns what `resolveSettings` needs.
 */
export function addOptions(command: Command, options: readonly CliOption[]): OptionSpec[] {
  return options.map((spec) => {
    const notes = [
      spec.env ? `env ${spec.env}` : "",
      spec.defaultText !== undefined ? `default ${spec.defaultText}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    const option = new Option(spec.flags, notes ? `${spec.description} [${notes}]` : spec.description);
    if (spec.choices) option.choices(spec.choices);
    command.addOption(option);
    return { key: option.attributeName(), ...(spec.env ? { env: spec.env } : {}) };
  });
}

export function settingsOf<S extends z.ZodType>(
  schema: S,
  specs: readonly OptionSpec[],
  command: Command,
): z.output<S> {
  return resolveSettings(schema, specs, command.opts());
}

export const REDIS_OPTIONS: readonly CliOption[] = [
  {
    flags: "--redis-url <url>",
    description: "Redis to use",
    env: "REDIS_URL",
    defaultText: "redis://127.0.0.1:6379",
  },
  {
    flags: "--prefix <prefix>",
    description: "key prefix of every queue and key (use a hash tag such as {wgp} on Redis Cluster)",
    env: "WGP_FARM_PREFIX",
    defaultText: "wgp",
  },
];
