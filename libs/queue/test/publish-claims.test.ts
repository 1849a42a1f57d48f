import { FarmConnection, LostAttempts, type PublishClaimRequest, PublishClaims } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { type Job, Queue, Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

const QUEUE = "model.t2v";

let farm: FarmConnection;
let worker: Worker;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("claims"));
  worker = new Worker(QUEUE, null, { connection: farm.redis, prefix: farm.keys.prefix, lockDuration: 5_000 });
});
afterEach(async () => {
  await worker.close();
  await farm.close();
});

/** A job fetched the way a slot fetches one: its lock holds `token`. */
async function fetchedJob(taskId: string, token: string): Promise<Job> {
  await new Queue(QUEUE, { connection: farm.redis, prefix: farm.keys.prefix }).add(
    "task",
    {},
    { jobId: taskId },
  );
  const job = await worker.getNextJob(token, { block: false });
  if (!job) throw new Error("no job fetched");
  return job;
}

function request(taskId: string, token: string, leaseMs = 30_000): PublishClaimRequest {
  return { queue: QUEUE, taskId, token, attempt: 2, slot: "gpu0@host-a", leaseMs };
}

describe("PublishClaims", () => {
  it("grants the attempt holding the lock: records the claim, extends the lock by the lease, unmarks it stalled", async () => {
    const claims = new PublishClaims(farm.redis, farm.keys);
    await fetchedJob("claim-1", "token-a");
    const lockKey = farm.keys.jobLockKey(QUEUE, "claim-1");
    await farm.redis.sadd(farm.keys.stalledKey(QUEUE), "claim-1");

    const claim = await claims.claim(request("claim-1", "token-a"));

    expect(claim).toMatchObject({ attempt: 2, token: "token-a", slot: "gpu0@host-a", lease_ms: 30_000 });
    expect(await claims.read("claim-1")).toEqual(claim);
    expect(await farm.redis.get(lockKey)).toBe("token-a");
    // The lock was taken for 5 s at the fetch; the lease made it 30 s.
    expect(await farm.redis.pttl(lockKey)).toBeGreaterThan(25_000);
    expect(await farm.redis.sismember(farm.keys.stalledKey(QUEUE), "claim-1")).toBe(0);
    expect(await farm.redis.pttl(farm.keys.publishClaim("claim-1"))).toBeGreaterThan(0);
  });

  it("refuses an attempt whose lock another attempt holds, and writes nothing", async () => {
    const claims = new PublishClaims(farm.redis, farm.keys);
    await fetchedJob("claim-2", "token-new");
    const lockKey = farm.keys.jobLockKey(QUEUE, "claim-2");
    const ttlBefore = await farm.redis.pttl(lockKey);

    expect(await claims.claim(request("claim-2", "token-stale"))).toBeNull();

    expect(await claims.read("claim-2")).toBeNull();
    expect(await farm.redis.get(lockKey)).toBe("token-new");
    expect(await farm.redis.pttl(lockKey)).toBeLessThanOrEqual(ttlBefore);
  });

  it("refuses an attempt whose lock expired, and neither recreates the lock nor overwrites an earlier claim", async () => {
    const claims = new PublishClaims(farm.redis, farm.keys);
    await fetchedJob("claim-3", "token-a");
    const first = await claims.claim(request("claim-3", "token-a"));
    await farm.redis.del(farm.keys.jobLockKey(QUEUE, "claim-3"));

    expect(await claims.claim({ ...request("claim-3", "token-a"), attempt: 3 })).toBeNull();

    expect(await farm.redis.exists(farm.keys.jobLockKey(QUEUE, "claim-3"))).toBe(0);
    expect(await claims.read("claim-3")).toEqual(first);
  });

  it("works under a Redis Cluster hash-tag prefix", async () => {
    const tagged = await FarmConnection.open(inject("redisUrl"), `{${uniquePrefix("claims-tag")}}`);
    const taggedWorker = new Worker(QUEUE, null, { connection: tagged.redis, prefix: tagged.keys.prefix });
    try {
      await new Queue(QUEUE, { connection: tagged.redis, prefix: tagged.keys.prefix }).add(
        "task",
        {},
        { jobId: "claim-4" },
      );
      expect(await taggedWorker.getNextJob("token-t", { block: false })).toBeDefined();
      const claims = new PublishClaims(tagged.redis, tagged.keys);
      expect(await claims.claim({ ...request("claim-4", "token-t") })).not.toBeNull();
    } finally {
      await taggedWorker.close();
      await tagged.close();
    }
  });
});

describe("LostAttempts", () => {
  it("keeps each task's lost attempts in order, with a TTL", async () => {
    const lost = new LostAttempts(farm.redis, farm.keys);
    const at = new Date().toISOString();
    const record = { attempt: 1, slot: "gpu0@a", started_at: at, lost_at: at, gpu_ms: 1234, why: "frozen" };
    await lost.record("lost-1", record);
    await lost.record("lost-1", { ...record, attempt: 2, slot: "gpu1@b" });
    await farm.redis.rpush(farm.keys.lostAttempts("lost-1"), "{not json");

    expect((await lost.list("lost-1")).map((entry) => `${entry.attempt}@${entry.slot}`)).toEqual([
      "1@gpu0@a",
      "2@gpu1@b",
    ]);
    expect(await lost.list("never-lost")).toEqual([]);
    expect(await farm.redis.pttl(farm.keys.lostAttempts("lost-1"))).toBeGreaterThan(0);
  });
});
