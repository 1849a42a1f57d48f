import { rm } from "node:fs/promises";
import path from "node:path";
import { farmWangpKnowledge, HostCatalogs, modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import {
  copyOfFakeWangp,
  eventually,
  FAST_RETRY,
  importTasks,
  readRecords,
  startWorker,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

describe("the WanGP of each host", () => {
  it("is published by the worker, checks imports, and a slot never takes a model its WanGP does not know", async () => {
    const tf = await testFarm("host-wangp");
    // This host's checkout lacks a model the built-in catalog knows (an older WanGP, say).
    const wangpRoot = await copyOfFakeWangp(tf.dir);
    await rm(path.join(wangpRoot, "defaults", "t2v_1.3B.json"));
    const catalogs = new HostCatalogs(tf.farm.redis, tf.farm.keys);
    expect(await catalogs.list()).toEqual([]);

    await startWorker(tf, { wangpRoot, slots: 2 });
    const [host] = await eventually(async () => {
      const live = await catalogs.list();
      return live.length > 0 ? live : undefined;
    });
    expect(host).toMatchObject({ host: "test-host", wangp_root: wangpRoot, version: "12.60+fake-wangp" });
    expect(host?.model_types).toContain("t2v");
    expect(host?.model_types).not.toContain("t2v_1.3B");
    expect(host?.setting_names).toContain("num_inference_steps");
    expect(host?.preflight?.ok).toBe(true);
    expect(await catalogs.list()).toHaveLength(1); // two slots, one checkout: one record

    // The importer checks against the live hosts: the unknown model is queued, with a warning.
    const report = await importTasks(
      tf,
      [t2vTask("known"), t2vTask("unknown", { model: "t2v_1.3B" })],
      FAST_RETRY,
      { wangp: farmWangpKnowledge(await catalogs.list()) },
    );
    expect(report.imported.map((entry) => entry.task_id).sort()).toEqual(["known", "unknown"]);
    expect(JSON.stringify(report.warnings)).toContain(
      "no live host knows model 't2v_1.3B' (the live hosts (test-host)): the task waits for a host that knows it",
    );

    expect((await waitForJob(tf, "known", modelQueueName("t2v"))).returnvalue).toBeTruthy();
    // Idle slots recheck the queues; the unknown model's task stays waiting, never sent to WanGP.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const state = await tf.farm.queues.byName(modelQueueName("t2v_1.3B")).getJobState("unknown");
    expect(["waiting", "prioritized"]).toContain(state);
    const submitted = (await readRecords(tf.recordFile)).filter((r) => r.event === "submit");
    expect(submitted.map((r) => r.id)).toEqual(["known"]);
  });

  it("falls back to the built-in catalog while no host has published", async () => {
    const tf = await testFarm("host-wangp-none");
    const knowledge = farmWangpKnowledge(await new HostCatalogs(tf.farm.redis, tf.farm.keys).list());
    expect(knowledge.fromHosts).toBe(false);
    expect(knowledge.modelTypes.has("t2v_1.3B")).toBe(true);
    const report = await importTasks(tf, [t2vTask("builtin", { model: "t2v_1.3B" })]);
    expect(report.warnings).toEqual([]);
  });
});
