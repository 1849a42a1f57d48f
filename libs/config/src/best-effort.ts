import type { Logger } from "pino";

type LevelName = "debug" | "info" | "warn";

/**
 * Awaits work whose failure must not stop the caller (a status write, a cleanup, a courtesy notice),
 * and says so in the log instead of swallowing it: `what` names the step ("releasing the claim").
 * Resolves to true when the work succeeded.
 */
export async function bestEffort(
  work: Promise<unknown> | (() => Promise<unknown>),
  logger: Pick<Logger, LevelName> | undefined,
  what: string,
  level: LevelName = "debug",
): Promise<boolean> {
  try {
    await (typeof work === "function" ? work() : work);
    return true;
  } catch (error) {
    logger?.[level]({ err: error }, `${what} failed; going on without it`);
    return false;
  }
}
