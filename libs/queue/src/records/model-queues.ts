import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { redisErrorListener } from "../redis/redis-connection.js";
import { type FarmKeys, modelQueueName } from "./farm-keys.js";
import { STITCH_QUEUE } from "./step-job.js";
import type { TaskJobData } from "./task-job.js";

/**
 * The BullMQ queue of each model, created on first use and shared by whoever needs it in this
 * process. Queues share one Redis connection.
 */
export class ModelQueues {
  private readonly queues = new Map<string, Queue<TaskJobData>>();

  constructor(
    private readonly redis: Redis,
    readonly keys: FarmKeys,
  ) {}

  /** The queue called `name` (a model queue, or the quarantine queue). */
  byName(name: string): Queue<TaskJobData> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue<TaskJobData>(name, { connection: this.redis, prefix: this.keys.prefix });
      // A Queue re-emits its connection's errors, and BullMQ prints those nobody listens to.
      queue.on("error", redisErrorListener(this.redis, `queue ${name}`));
      this.queues.set(name, queue);
    }
    return queue;
  }

  forModel(modelType: string): Queue<TaskJobData> {
    return this.byName(modelQueueName(modelType));
  }

  /** Records that a model has a queue, so that workers and the dashboard find it. */
  async registerModels(modelTypes: Iterable<string>): Promise<void> {
    const list = [...modelTypes];
    if (list.length === 0) return;
    const added = await this.redis.sadd(this.keys.models, ...list);
    // Idle workers block on the queues they know; this entry makes them watch a new queue at once.
    if (added > 0) {
      await this.redis.xadd(this.keys.modelEvents, "MAXLEN", "~", "1000", "*", "models", list.join(","));
    }
  }

  /** Model types that have (or had) a queue. */
  async knownModels(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.models)).sort();
  }

  /**
   * Every queue that tasks wait in: each model's queue (post-steps' `model.post.<kind>` included),
   * then the stitch queue once a flow has used it. The one list that status, ls, pause/resume, clean
   * and /metrics walk, so that no operator view misses a queue.
   */
  async taskQueueNames(): Promise<string[]> {
    const [models, stitchUsed] = await Promise.all([
      this.knownModels(),
      // The stitch queue is no model, so it is not in the registry; BullMQ counts every job it adds.
      this.redis.exists(this.keys.queueKeys(STITCH_QUEUE).id as string),
    ]);
    const names = models.map(modelQueueName);
    if (stitchUsed) names.push(STITCH_QUEUE);
    return names;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
