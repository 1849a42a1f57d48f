import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createLogger } from "@wgp-farm/config";
import {
  DEFAULT_RETRY_POLICY,
  FarmConnection,
  farmWangpKnowledge,
  type HostCatalog,
  HostCatalogs,
  hostCatalogId,
  type ImportReport,
  modelsNoHostKnows,
  RedisTaskSink,
  TaskFileWatcher,
} from "@wgp-farm/queue";
import { temporaryDir, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("host-catalogs"));
});
afterEach(async () => {
  await farm.close();
});

function catalog(host: string, models: string[], settings: string[] = ["prompt"]): HostCatalog {
  return {
    host,
    wangp_root: "/opt/Wan2GP",
    version: "12.60",
    mmgp_version: "3.7.12",
    settings_version: 2.74,
    model_types: models,
    setting_names: settings,
    media_keys: ["video_guide"],
    preflight: null,
    slot_id: `gpu0@${host}`,
    updated_at: new Date().toISOString(),
  };
}

describe("HostCatalogs", () => {
  it("lists the live hosts' WanGP; a host that stops refreshing drops out and leaves the index", async () => {
    const long = new HostCatalogs(farm.redis, farm.keys, 60_000);
    const short = new HostCatalogs(farm.redis, farm.keys, 300);
    await long.publish(catalog("render-02", ["t2v"]));
    await short.publish(catalog("render-01", ["t2v", "auk"]));
    expect((await long.list()).map((c) => c.host)).toEqual(["render-01", "render-02"]);
    await waitUntil(async () => (await long.list()).length === 1);
    expect(await farm.redis.zrange(farm.keys.wangpHosts, "0", "-1")).toEqual([
      hostCatalogId("render-02", "/opt/Wan2GP"),
    ]);
  });

  it("leaves out a record in another shape (a worker of another version)", async () => {
    const catalogs = new HostCatalogs(farm.redis, farm.keys, 60_000);
    await catalogs.publish(catalog("render-01", ["t2v"]));
    const id = hostCatalogId("old-host", "/opt/Wan2GP");
    await farm.redis.set(farm.keys.wangpHost(id), JSON.stringify({ host: "old-host" }), "PX", 60_000);
    await farm.redis.zadd(farm.keys.wangpHosts, Date.now(), id);
    expect((await catalogs.list()).map((c) => c.host)).toEqual(["render-01"]);
  });

  it("makes what the hosts know together, and which queued models none knows", () => {
    const hosts = [catalog("a", ["t2v"], ["prompt", "new_v13_setting"]), catalog("b", ["t2v", "auk"])];
    const knowledge = farmWangpKnowledge(hosts);
    expect(knowledge.fromHosts).toBe(true);
    expect([...knowledge.modelTypes].sort()).toEqual(["auk", "t2v"]);
    expect(knowledge.settingNames.has("new_v13_setting")).toBe(true);
    expect(knowledge.settingNames.has("num_inference_steps")).toBe(true); // built-in names stay accepted
    expect(knowledge.mediaKeys.has("video_guide")).toBe(true);
    expect(modelsNoHostKnows(["t2v", "vace_14B", "vace_14B"], hosts)).toEqual(["vace_14B"]);
    expect(modelsNoHostKnows(["vace_14B"], [])).toEqual([]); // nobody published: nothing to say
    expect(farmWangpKnowledge([]).fromHosts).toBe(false);
  });

  it("are what the task file watcher checks new tasks against", async () => {
    const work = await temporaryDir("host-catalogs-watch");
    const catalogs = new HostCatalogs(farm.redis, farm.keys, 60_000);
    await catalogs.publish(catalog("render-01", ["t2v"]));
    const reports: ImportReport[] = [];
    const watcher = new TaskFileWatcher({
      tasksFile: path.join(work.dir, "tasks.json"),
      sink: new RedisTaskSink(farm, DEFAULT_RETRY_POLICY),
      logger: createLogger({ name: "watcher-test", level: "silent" }),
      pollIntervalMs: 200,
      settleMs: 50,
      onImported: (report) => reports.push(report),
      wangp: async () => farmWangpKnowledge(await catalogs.list()),
    });
    try {
      await watcher.start();
      await writeFile(
        path.join(work.dir, "tasks.json"),
        JSON.stringify([{ task_id: "later", prompt: "p", model: "vace_14B" }]),
      );
      await waitUntil(() => reports.length === 1);
      expect(reports[0]?.imported.map((entry) => entry.task_id)).toEqual(["later"]);
      expect(JSON.stringify(reports[0]?.warnings)).toContain("no live host knows model 'vace_14B'");
    } finally {
      await watcher.stop();
      await work.remove();
    }
  });
});
