/**
 * The API's own Redis keys, under the farm's prefix next to FarmKeys' (should move into FarmKeys in
 * libs/queue; kept here while that lib is being reorganised). With a hash-tag prefix they share the
 * farm's Cluster slot.
 */
export class ApiKeys {
  constructor(readonly prefix: string) {}

  /** Hash token id → token record (JSON, secret only as its sha256). */
  get tokens(): string {
    return `${this.prefix}:api:tokens`;
  }

  /** Hash task_id → id of the token that submitted it. */
  get taskOwners(): string {
    return `${this.prefix}:api:task-owners`;
  }

  /** Sorted set submitted-at (ms) → task_id of every task submitted over the API (admin listing). */
  get submittedTasks(): string {
    return `${this.prefix}:api:tasks`;
  }

  /** Sorted set submitted-at (ms) → task_id of one token's tasks. */
  tasksOf(tokenId: string): string {
    return `${this.prefix}:api:tasks-of:${tokenId}`;
  }

  /** Set of a token's task ids that may still be waiting or running (pruned on every submit). */
  inFlight(tokenId: string): string {
    return `${this.prefix}:api:in-flight:${tokenId}`;
  }

  /** Hash {tokens, at}: a token's submit bucket (rate limit). */
  submitBucket(tokenId: string): string {
    return `${this.prefix}:api:submit-bucket:${tokenId}`;
  }

  /** The stored response of a request with an Idempotency-Key (key hashed: it is the client's text). */
  requestIdempotency(tokenId: string, keyHash: string): string {
    return `${this.prefix}:api:idempotency:${tokenId}:key:${keyHash}`;
  }

  /** The stored outcome of one task submitted without an Idempotency-Key (its task_id is the key). */
  taskIdempotency(tokenId: string, taskId: string): string {
    return `${this.prefix}:api:idempotency:${tokenId}:task:${taskId}`;
  }
}
