import {
  assessRedisForQueue,
  FarmConnection,
  RedisUnreachableError,
  readRedisFacts,
  redactRedisUrl,
} from "@wgp-farm/queue";
import { type CheckResult, check } from "./check-result.js";

/** Connects and judges the Redis; the connection is returned for the checks that compare hosts. */
export async function checkRedis(
  url: string,
  prefix: string,
): Promise<{ checks: CheckResult[]; farm: FarmConnection | undefined }> {
  let farm: FarmConnection;
  try {
    farm = await FarmConnection.open(url, prefix, { timeoutMs: 5000 });
  } catch (error) {
    const reason = error instanceof RedisUnreachableError ? error.message : String(error);
    return {
      checks: [
        check("redis", "redis-reachable", "fail", reason, {
          fix: "start Redis (infra/compose.yaml or infra/redis/redis.conf) or set REDIS_URL / --redis-url to the farm's Redis; check firewalls, the password in the URL, and rediss:// for TLS",
        }),
      ],
      farm: undefined,
    };
  }
  const facts = await readRedisFacts(farm.redis);
  const findings = assessRedisForQueue(facts, { url, prefix });
  return {
    checks: [
      check("redis", "redis-reachable", "ok", `${redactRedisUrl(url)} answers (key prefix ${prefix})`),
      ...findings.map((finding) =>
        check("redis", finding.id, finding.status, finding.summary, finding.fix ? { fix: finding.fix } : {}),
      ),
    ],
    farm,
  };
}
