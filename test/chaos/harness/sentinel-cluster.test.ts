/**
 * Redis with Sentinel: while the replica is up, WAIT 1 sees it; after the primary is killed and the
 * replica promoted, an ioredis client configured with the Sentinels and the master name writes again
 * (to the new primary), and what was written before is still there. A wait on the cluster that
 * times out tells why: the nodes' logs follow its message.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SentinelCluster } from "./sentinel-cluster.ts";

describe("SentinelCluster", () => {
  let cluster: SentinelCluster;
  let client: Redis;

  beforeAll(async () => {
    cluster = await SentinelCluster.start("chaos-primary");
    await cluster.whenReplicaSeen();
    client = new Redis({
      sentinels: cluster.sentinels,
      name: cluster.masterName,
      // The primary goes away on purpose: reconnecting is the point, not an error to print.
      sentinelRetryStrategy: () => 100,
      retryStrategy: () => 100,
    });
    client.on("error", () => undefined);
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it("WAIT 1 returns 1 while the replica is up", async () => {
    await client.set("before", "1");
    expect(await client.call("WAIT", "1", "2000")).toBe(1);
  });

  it("a promotion that does not come ends with every node's log", async () => {
    // The primary is alive: no Sentinel fails it over, and the wait says what they did meanwhile.
    const error = await cluster.whenPromoted(300).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error?.message).toMatch(/^timed out after 300 ms waiting for the Sentinels to promote/);
    for (const node of ["primary", "replica", "sentinel-0", "sentinel-1", "sentinel-2"])
      expect(error?.message).toContain(`--- ${node} (port `);
    expect(error?.message).toMatch(/\+monitor master chaos-primary/);
  });

  it("an ioredis client with sentinels/name keeps writing across the failover", async () => {
    const oldPrimary = cluster.primary;
    await client.set("acknowledged", "yes");
    expect(await client.call("WAIT", "1", "2000")).toBe(1);
    await cluster.killPrimary();
    const promotedMs = await cluster.whenPromoted();
    expect(cluster.primary.port).not.toBe(oldPrimary.port);
    expect(promotedMs).toBeGreaterThan(0);

    // Writes after the promotion succeed, through the same client, on the new primary.
    await expect
      .poll(
        () =>
          client.set("after", "2").then(
            () => true,
            () => false,
          ),
        { timeout: 20_000, interval: 200 },
      )
      .toBe(true);
    expect(await client.get("after")).toBe("2");
    expect(await client.get("acknowledged")).toBe("yes");
    const direct = new Redis({ ...cluster.primary, lazyConnect: true });
    await direct.connect();
    expect(await direct.get("after")).toBe("2");
    direct.disconnect();
  });
});
