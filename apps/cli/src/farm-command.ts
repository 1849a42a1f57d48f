import { DEFAULT_PREFIX, DEFAULT_REDIS_URL, FarmConnection, UnknownModelError } from "@wgp-farm/queue";
import { z } from "zod";
import { type CliOption, REDIS_OPTIONS } from "./cli-options.js";
import { CliError, ExitCode } from "./exit-codes.js";

/** Options of the commands that look at or steer the farm (status, ls, retry, pause, clean). */
export const FARM_COMMAND_OPTIONS: readonly CliOption[] = [
  ...REDIS_OPTIONS,
  { flags: "--json", description: "print JSON for scripts instead of tables" },
];

export const FarmCommandSettings = z.object({
  redisUrl: z.string().default(DEFAULT_REDIS_URL),
  prefix: z.string().min(1).default(DEFAULT_PREFIX),
  json: z.boolean().default(false),
});
export type FarmCommandSettings = z.output<typeof FarmCommandSettings>;

/**
 * Runs a short command against the farm: connects (failing fast when Redis is away), runs, closes.
 * A model name the farm has no queue for is a "not found" (exit 1), like an unknown task id.
 */
export async function withFarm<T>(
  settings: FarmCommandSettings,
  run: (farm: FarmConnection) => Promise<T>,
): Promise<T> {
  const farm = await FarmConnection.open(settings.redisUrl, settings.prefix);
  try {
    return await run(farm);
  } catch (error) {
    if (error instanceof UnknownModelError) throw new CliError(error.message, ExitCode.failed);
    throw error;
  } finally {
    await farm.close();
  }
}
