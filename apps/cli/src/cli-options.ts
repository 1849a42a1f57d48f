import { option, switchOption } from "@wgp-farm/config";
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from "@wgp-farm/queue";
import { WORKER_OPTION_SET } from "@wgp-farm/worker";
import { z } from "zod";

/** Which farm: every command that talks to Redis takes these two. */
export const REDIS_OPTIONS = {
  redisUrl: option({
    flag: "--redis-url",
    takes: "url",
    env: "REDIS_URL",
    description: "Redis to use",
    schema: z.string().min(1),
    default: DEFAULT_REDIS_URL,
  }),
  prefix: option({
    flag: "--prefix",
    takes: "prefix",
    env: "WGP_FARM_PREFIX",
    description: "key prefix of every queue and key (use a hash tag such as {wgp} on Redis Cluster)",
    schema: z.string().min(1),
    default: DEFAULT_PREFIX,
  }),
};

/** The host's WanGP and output folder, as the worker declares them, for every command that needs them. */
export const {
  wangpRoot: WANGP_ROOT,
  python: PYTHON,
  mainOutputDir: MAIN_OUTPUT_DIR,
  wangpArgs: WANGP_ARGS,
} = WORKER_OPTION_SET;

export const JSON_OPTION = switchOption({
  flag: "--json",
  description: "print JSON for scripts instead of tables",
});
