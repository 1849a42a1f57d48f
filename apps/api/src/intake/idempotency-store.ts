import { readRecord } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { ApiKeys } from "../api-keys.js";
import { canonicalHash } from "./canonical-hash.js";

/** A stored answer to a request sent with an Idempotency-Key. `pending` until it is decided. */
const RequestRecord = z.object({
  body_sha256: z.string(),
  response: z.object({ status: z.number(), body: z.unknown() }).nullable(),
});
type RequestRecord = z.output<typeof RequestRecord>;

/** A stored outcome of one accepted task, keyed by its task_id. */
const TaskRecord = z.object({ body_sha256: z.string(), entry: z.record(z.string(), z.unknown()) });
export type StoredTaskOutcome = z.output<typeof TaskRecord>;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type RequestClaim =
  | { kind: "new" }
  /** A request with this key was started (maybe by a process that died) and not answered: redo it. */
  | { kind: "unfinished" }
  | { kind: "answered"; response: StoredResponse }
  | { kind: "other-body" };

/**
 * Idempotency records in Redis, per token, with a TTL: the original answer is stored and replayed,
 * never rebuilt from the retried body. A key is claimed with its body's hash before any work, so the
 * same key with another body is refused even when the first request never got its answer stored.
 */
export class IdempotencyStore {
  readonly #redis: Redis;
  readonly #keys: ApiKeys;
  readonly #ttlS: number;

  constructor(redis: Redis, keys: ApiKeys, ttlS: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlS = ttlS;
  }

  #requestKey(tokenId: string, idempotencyKey: string): string {
    return this.#keys.requestIdempotency(tokenId, canonicalHash(idempotencyKey));
  }

  async claimRequest(tokenId: string, idempotencyKey: string, body: unknown): Promise<RequestClaim> {
    const key = this.#requestKey(tokenId, idempotencyKey);
    const bodySha = canonicalHash(body);
    const pending: RequestRecord = { body_sha256: bodySha, response: null };
    const set = await this.#redis.set(key, JSON.stringify(pending), "EX", this.#ttlS, "NX");
    if (set === "OK") return { kind: "new" };
    const existing = readRecord(RequestRecord, await this.#redis.get(key), "idempotency");
    if (!existing) return { kind: "unfinished" };
    if (existing.body_sha256 !== bodySha) return { kind: "other-body" };
    return existing.response ? { kind: "answered", response: existing.response } : { kind: "unfinished" };
  }

  async storeResponse(
    tokenId: string,
    idempotencyKey: string,
    body: unknown,
    response: StoredResponse,
  ): Promise<void> {
    const record: RequestRecord = { body_sha256: canonicalHash(body), response };
    await this.#redis.set(
      this.#requestKey(tokenId, idempotencyKey),
      JSON.stringify(record),
      "EX",
      this.#ttlS,
    );
  }

  /** The stored outcomes of tasks submitted before (undefined where none), by task_id. */
  async taskOutcomes(
    tokenId: string,
    taskIds: readonly string[],
  ): Promise<(StoredTaskOutcome | undefined)[]> {
    if (taskIds.length === 0) return [];
    const raws = await this.#redis.mget(...taskIds.map((id) => this.#keys.taskIdempotency(tokenId, id)));
    return raws.map((raw) => readRecord(TaskRecord, raw, "task idempotency"));
  }

  async storeTaskOutcomes(tokenId: string, outcomes: readonly (StoredTaskOutcome & { task_id: string })[]) {
    if (outcomes.length === 0) return;
    const batch = this.#redis.multi();
    for (const { task_id, body_sha256, entry } of outcomes) {
      const record: StoredTaskOutcome = { body_sha256, entry };
      batch.set(this.#keys.taskIdempotency(tokenId, task_id), JSON.stringify(record), "EX", this.#ttlS);
    }
    await batch.exec();
  }
}
