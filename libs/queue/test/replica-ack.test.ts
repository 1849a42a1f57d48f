import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { temporaryDir, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import {
  connectRedis,
  DEFAULT_RETRY_POLICY,
  FarmConnection,
  modelQueueName,
  RedisServerProcess,
  RedisTaskSink,
  ReplicaAckError,
  TaskImporter,
} from "../src/index.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A primary and one replica that follows it, both private redis-servers. */
async function primaryWithReplica(): Promise<{ primary: RedisServerProcess; replica: Redis }> {
  const data = await temporaryDir("replica-ack");
  cleanups.push(data.remove);
  const primary = await RedisServerProcess.start({ dataDir: `${data.dir}/primary`, persistence: "none" });
  cleanups.push(() => primary.stop());
  const replicaServer = await RedisServerProcess.start({
    dataDir: `${data.dir}/replica`,
    persistence: "none",
  });
  cleanups.push(() => replicaServer.stop());
  const replica = await connectRedis(replicaServer.url);
  cleanups.push(async () => replica.disconnect());
  const primaryView = await connectRedis(primary.url);
  cleanups.push(async () => primaryView.disconnect());
  await replica.call("REPLICAOF", "127.0.0.1", String(primary.port));
  // Ready once the primary counts the replica, as the import does (ROLE lists online replicas only).
  // The replica says its link is up first: after a diskless sync, the primary puts it online only
  // when its first ACK arrives, and an import in between has no replica to wait for.
  await waitUntil(async () => {
    const [role, , replicas] = (await primaryView.call("ROLE")) as [string, number, unknown[]];
    return role === "master" && replicas.length === 1;
  }, 10_000);
  return { primary, replica };
}

async function importTasks(farm: FarmConnection, ids: string[], ackTimeoutMs?: number) {
  const importer = new TaskImporter(new RedisTaskSink(farm, DEFAULT_RETRY_POLICY, ackTimeoutMs));
  const text = ids.map((id) => JSON.stringify({ task_id: id, prompt: id, model: "t2v" })).join("\n");
  return importer.import(
    readTaskRecords(Readable.from([Buffer.from(text)])),
    new TaskValidator({ mediaRoot: tmpdir() }),
    {
      source: "test",
    },
  );
}

describe("an import on a primary with a replica", () => {
  it("returns once the replica holds every task it reports as imported", async () => {
    const { primary, replica } = await primaryWithReplica();
    const farm = await FarmConnection.open(primary.url, uniquePrefix("ack"));
    cleanups.push(() => farm.close());
    const ids = Array.from({ length: 200 }, (_, i) => `ack-${i}`);
    const report = await importTasks(farm, ids);
    expect(report.imported).toHaveLength(200);
    // Read from the replica straight after: nothing of what was acknowledged may be missing there.
    const queued = await replica.zcard(`${farm.keys.prefix}:${modelQueueName("t2v")}:prioritized`);
    const waiting = await replica.llen(`${farm.keys.prefix}:${modelQueueName("t2v")}:wait`);
    expect(queued + waiting).toBe(200);
    expect(await replica.hlen(farm.keys.taskIndex)).toBe(200);
  });

  it("is not acknowledged while its replica does not confirm it, and goes through once it does", async () => {
    const { primary, replica } = await primaryWithReplica();
    const farm = await FarmConnection.open(primary.url, uniquePrefix("ack"));
    cleanups.push(() => farm.close());
    // A frozen replica (SIGSTOP) stays connected: the primary still counts it, and WAIT times out.
    const frozenReplicaPid = Number(/process_id:(\d+)/.exec(await replica.info("server"))?.[1]);
    process.kill(frozenReplicaPid, "SIGSTOP");
    cleanups.push(async () => process.kill(frozenReplicaPid, "SIGCONT"));
    await expect(importTasks(farm, ["late-1", "late-2"], 500)).rejects.toThrow(ReplicaAckError);

    process.kill(frozenReplicaPid, "SIGCONT");
    // Importing again is safe: the tasks the primary took are found and skipped, nothing is doubled.
    const again = await importTasks(farm, ["late-1", "late-2"], 5_000);
    expect(again.imported.length + again.skipped.length).toBe(2);
    await waitUntil(async () => (await replica.hlen(farm.keys.taskIndex)) === 2, 5_000);
  });

  it("needs no replica when the primary has none", async () => {
    const data = await temporaryDir("no-replica");
    cleanups.push(data.remove);
    const lone = await RedisServerProcess.start({ dataDir: data.dir, persistence: "none" });
    cleanups.push(() => lone.stop());
    const farm = await FarmConnection.open(lone.url, uniquePrefix("lone"));
    cleanups.push(() => farm.close());
    expect((await importTasks(farm, ["solo"], 100)).imported).toHaveLength(1);
  });
});
