import { UserError } from "@wgp-farm/config";
import type { Redis } from "ioredis";

/** How long an import waits for a replica to confirm its writes before it counts as not done. */
export const REPLICA_ACK_TIMEOUT_MS = 5_000;

/** The primary took an import's writes, but no replica confirmed them: it is not acknowledged. */
export class ReplicaAckError extends UserError {
  override name = "ReplicaAckError";
}

/** How many replicas the server this connection writes to has right now (ROLE: cheaper than INFO). */
async function connectedReplicas(redis: Redis): Promise<number> {
  const role = (await redis.call("ROLE")) as [string, number, unknown[]?];
  return role[0] === "master" ? (role[2]?.length ?? 0) : 0;
}

/**
 * Makes "imported" mean "on at least one replica" when the primary has one: replication is
 * asynchronous, so a write only the primary holds is lost if it fails over now. WAIT covers every
 * write this connection sent before it. Without replicas there is nothing to wait for (a lone
 * primary, or a promoted one whose replica is not back yet; `min-replicas-to-write` closes that gap).
 */
export async function confirmOnReplica(redis: Redis, timeoutMs = REPLICA_ACK_TIMEOUT_MS): Promise<void> {
  if ((await connectedReplicas(redis)) === 0) return;
  const confirmed = await redis.wait(1, timeoutMs);
  if (confirmed < 1) {
    throw new ReplicaAckError(
      `no replica confirmed the import within ${timeoutMs} ms: the primary has it, but a failover now would lose it; import again (already imported tasks are skipped)`,
    );
  }
}
