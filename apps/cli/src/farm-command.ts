import { FarmConnection } from "@wgp-farm/queue";
import { JSON_OPTION, REDIS_OPTIONS } from "./cli-options.js";

/** Options of the commands that look at or steer the farm (status, ls, retry, pause, clean). */
export const FARM_COMMAND_OPTIONS = { ...REDIS_OPTIONS, json: JSON_OPTION };

/**
 * Runs a short command against the farm: connects (failing fast when Redis is away), runs, closes.
 * A model name the farm has no queue for is an UnknownModelError: a "not found" (exit 1), like an unknown task id.
 */
export async function withFarm<T>(
  settings: { redisUrl: string; prefix: string },
  run: (farm: FarmConnection) => Promise<T>,
): Promise<T> {
  const farm = await FarmConnection.open(settings.redisUrl, settings.prefix);
  try {
    return await run(farm);
  } finally {
    await farm.close();
  }
}
