import { type FarmKeys, RedisStore } from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import type { ApiKeys } from "../api-keys.js";
import type { Caller } from "../auth/caller.js";
import { CLAIM_OWNERS_SCRIPT } from "./claim-owners-script.js";

export type OwnerClaim = "mine" | "claimed" | "taken";

/**
 * Which token submitted which task. A task is read, cancelled and retried only by its token or an
 * admin; its id cannot be taken over by another token, nor can a token adopt a task imported
 * outside the API.
 */
export class TaskOwners extends RedisStore<ApiKeys> {
  readonly #farmKeys: FarmKeys;
  readonly #claimOwners = this.script<OwnerClaim[]>("wgpApiClaimOwners", 2, CLAIM_OWNERS_SCRIPT);

  constructor(redis: Redis, keys: ApiKeys, farmKeys: FarmKeys) {
    super(redis, keys);
    this.#farmKeys = farmKeys;
  }

  async claim(tokenId: string, taskIds: readonly string[]): Promise<OwnerClaim[]> {
    if (taskIds.length === 0) return [];
    return this.#claimOwners([this.keys.taskOwners, this.#farmKeys.taskIndex], tokenId, ...taskIds);
  }

  /** Gives up ids this token claimed but whose tasks did not go into the farm. */
  async release(taskIds: readonly string[]): Promise<void> {
    if (taskIds.length > 0) await this.redis.hdel(this.keys.taskOwners, ...taskIds);
  }

  /** Lists the tasks under their submit time, for the token's and the admin's listings. */
  async record(tokenId: string, taskIds: readonly string[], atMs: number): Promise<void> {
    if (taskIds.length === 0) return;
    const members = taskIds.flatMap((id) => [atMs, id]);
    await this.redis
      .multi()
      .zadd(this.keys.tasksOf(tokenId), "NX", ...members)
      .zadd(this.keys.submittedTasks, "NX", ...members)
      .exec();
  }

  /** The token ids that submitted these tasks (tasks imported outside the API are absent). */
  async ownersOf(taskIds: readonly string[]): Promise<Map<string, string>> {
    if (taskIds.length === 0) return new Map();
    const owners = await this.redis.hmget(this.keys.taskOwners, ...taskIds);
    return new Map(taskIds.flatMap((id, i) => (owners[i] ? [[id, owners[i]] as const] : [])));
  }

  /** Whether the caller may see and steer the task (its own, or any for an admin). */
  async mayAccess(who: Caller, taskId: string): Promise<boolean> {
    if (who.isAdmin) return true;
    return (await this.redis.hget(this.keys.taskOwners, taskId)) === who.token.id;
  }
}
