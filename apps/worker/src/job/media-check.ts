import { resolveMediaPath, WANGP_MEDIA_KEYS } from "@wgp-farm/tasks";

/** A task names media this host cannot read: it fails before any GPU time, without retry. */
export class MissingMediaError extends Error {
  override name = "MissingMediaError";
  constructor(readonly problems: string[]) {
    super(`media not found on this worker: ${problems.join("; ")}`);
  }
}

/**
 * Checks that every media file in the settings exists on this host (the importer checked on its
 * own host; workers may mount storage differently). Paths are absolute by now.
 */
export async function checkMediaOnHost(settings: Record<string, unknown>): Promise<void> {
  const checks: Promise<string | undefined>[] = [];
  for (const key of WANGP_MEDIA_KEYS) {
    const value = settings[key];
    const paths = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    for (const raw of paths) {
      if (typeof raw !== "string") continue;
      checks.push(resolveMediaPath(raw, "/", true).then(({ problem }) => problem && `${key}: ${problem}`));
    }
  }
  const problems = (await Promise.all(checks)).filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) throw new MissingMediaError(problems);
}
