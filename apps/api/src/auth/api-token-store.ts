import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { readRecord, UserError } from "@wgp-farm/config";
import { RedisStore } from "@wgp-farm/queue";
import { z } from "zod";
import type { ApiKeys } from "../api-keys.js";
import { isScope, SCOPES, type Scope } from "./scopes.js";

const TOKEN_PREFIX = "wgpf";
const SECRET_BYTES = 32;

/** A token as stored: the secret only as its sha256. */
export const ApiTokenRecord = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  secret_sha256: z.string(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});
export type ApiTokenRecord = z.output<typeof ApiTokenRecord>;

/** What `token ls` shows and a request knows of its caller: never the hash. */
export type ApiTokenInfo = Omit<ApiTokenRecord, "secret_sha256">;

export class TokenError extends UserError {
  override name = "TokenError";
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function infoOf({ secret_sha256: _hash, ...info }: ApiTokenRecord): ApiTokenInfo {
  return info;
}

/**
 * API tokens, kept in Redis. A token reads `wgpf_<id>_<secret>`: the id finds the record in one
 * lookup, the 256-bit random secret proves the caller. Only sha256(secret) is stored. A fast hash is
 * enough here (unlike passwords): a secret drawn from 2^256 values cannot be guessed or looked up in
 * a dictionary, so a slow KDF would add cost to every request and no safety. Comparison is
 * constant-time.
 */
export class ApiTokenStore extends RedisStore<ApiKeys> {
  /** Makes a token; the returned secret is shown once and never stored. */
  async create(name: string, scopes: readonly string[]): Promise<{ token: string; info: ApiTokenInfo }> {
    const unknown = scopes.filter((scope) => !isScope(scope));
    if (unknown.length > 0) {
      throw new TokenError(`unknown scope ${unknown.join(", ")}: choose from ${SCOPES.join(", ")}`);
    }
    if (scopes.length === 0) throw new TokenError(`give at least one scope (${SCOPES.join(", ")})`);
    const id = randomUUID().replaceAll("-", "").slice(0, 16);
    const secret = randomBytes(SECRET_BYTES).toString("base64url");
    const record: ApiTokenRecord = {
      id,
      name,
      scopes: [...new Set(scopes as Scope[])],
      secret_sha256: sha256(secret).toString("hex"),
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    await this.redis.hset(this.keys.tokens, id, JSON.stringify(record));
    return { token: `${TOKEN_PREFIX}_${id}_${secret}`, info: infoOf(record) };
  }

  async list(): Promise<ApiTokenInfo[]> {
    const all = await this.redis.hgetall(this.keys.tokens);
    return Object.values(all)
      .map((raw) => readRecord(ApiTokenRecord, raw, "API token"))
      .filter((record): record is ApiTokenRecord => record !== undefined)
      .map(infoOf)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Marks a token revoked (the record stays, so `token ls` says when). False when unknown. */
  async revoke(id: string): Promise<boolean> {
    const record = readRecord(ApiTokenRecord, await this.redis.hget(this.keys.tokens, id), "API token");
    if (!record) return false;
    if (record.revoked_at === null) {
      record.revoked_at = new Date().toISOString();
      await this.redis.hset(this.keys.tokens, id, JSON.stringify(record));
    }
    return true;
  }

  /** The token's record when the presented token is genuine and not revoked; else null. */
  async verify(presented: string): Promise<ApiTokenInfo | null> {
    const match = /^wgpf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(presented);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const record = readRecord(ApiTokenRecord, await this.redis.hget(this.keys.tokens, id), "API token");
    if (!record || record.revoked_at !== null) return null;
    const expected = Buffer.from(record.secret_sha256, "hex");
    const actual = sha256(secret);
    return expected.length === actual.length && timingSafeEqual(expected, actual) ? infoOf(record) : null;
  }
}
