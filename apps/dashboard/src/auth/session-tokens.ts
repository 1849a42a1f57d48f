import { createHmac, randomBytes } from "node:crypto";
import { secretsEqual } from "./secret-compare.js";

export const SESSION_COOKIE = "wgp_farm_session";

/**
 * Signed session cookies: `<user>.<expiry ms>.<HMAC>`. The key is random per server start, so a
 * restart logs everyone out, and no session store is needed.
 */
export class SessionTokens {
  private readonly key = randomBytes(32);

  constructor(readonly ttlMs: number) {}

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }

  issue(username: string, now = Date.now()): string {
    const payload = `${Buffer.from(username).toString("base64url")}.${now + this.ttlMs}`;
    return `${payload}.${this.sign(payload)}`;
  }

  /** The user a valid, unexpired session belongs to; null otherwise. */
  verify(value: string, now = Date.now()): string | null {
    const parts = value.split(".");
    if (parts.length !== 3) return null;
    const [user, expiry, signature] = parts as [string, string, string];
    if (!secretsEqual(signature, this.sign(`${user}.${expiry}`))) return null;
    if (!(Number(expiry) > now)) return null;
    return Buffer.from(user, "base64url").toString();
  }
}
