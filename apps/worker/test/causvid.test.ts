import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { modelQueueName } from "@wgp-farm/queue";
import { CAUSVID_PRESET } from "@wgp-farm/tasks";
import { describe, expect, it } from "vitest";
import type { ResultManifest, ResultSummary } from "../src/index.js";
import {
  copyOfFakeWangp,
  importTasks,
  onCleanup,
  startWorker,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

/** A stand-in for Hugging Face on 127.0.0.1: serves the LoRA slowly, so that concurrent slots overlap. */
async function loraServer(body: Buffer): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? "");
    if (request.url !== `/${CAUSVID_PRESET.loraFile}`) {
      response.writeHead(404, "Not Found").end();
      return;
    }
    response.writeHead(200, { "content-length": String(body.length) });
    const chunk = Math.ceil(body.length / 8);
    let sent = 0;
    const timer = setInterval(() => {
      response.write(body.subarray(sent, sent + chunk));
      sent += chunk;
      if (sent >= body.length) {
        clearInterval(timer);
        response.end();
      }
    }, 100);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

describe("the CausVid LoRA", () => {
  it("is downloaded once for 4 slots in 2 workers, checked, and applied", async () => {
    const tf = await testFarm("causvid");
    const wangpRoot = await copyOfFakeWangp(tf.dir);
    const body = randomBytes(2 * 1024 * 1024);
    const sha256 = createHash("sha256").update(body).digest("hex");
    const { url, requests } = await loraServer(body);
    const causvid = (i: number) => t2vTask(`causvid-${i}`, { use_causvid_lora: true, steps: undefined });
    await importTasks(tf, [0, 1, 2, 3].map(causvid));
    const options = {
      wangpRoot,
      slots: 2,
      causvidUrl: `${url}/${CAUSVID_PRESET.loraFile}`,
      causvidSha256: sha256,
      env: { FAKE_WANGP_STEP_S: "0.01" },
    };
    await Promise.all([
      startWorker(tf, { ...options, name: "host-a" }),
      startWorker(tf, { ...options, name: "host-b" }),
    ]);
    const jobs = await Promise.all(
      [0, 1, 2, 3].map((i) => waitForJob(tf, `causvid-${i}`, modelQueueName("t2v"))),
    );
    expect(jobs.map((job) => job.failedReason ?? "ok")).toEqual(["ok", "ok", "ok", "ok"]);
    expect(new Set(jobs.map((job) => job.processedBy)).size).toBeGreaterThan(1);
    expect(requests).toEqual([`/${CAUSVID_PRESET.loraFile}`]);
    const loraDir = path.join(wangpRoot, "loras", "wan");
    expect((await readdir(loraDir)).sort()).toEqual([CAUSVID_PRESET.loraFile, "fixture_style.safetensors"]);
    expect(
      createHash("sha256")
        .update(await readFile(path.join(loraDir, CAUSVID_PRESET.loraFile)))
        .digest("hex"),
    ).toBe(sha256);

    const summary = jobs[0]?.returnvalue as ResultSummary;
    const manifest = JSON.parse(
      await readFile(path.join(summary.output_dir, "result.json"), "utf8"),
    ) as ResultManifest;
    expect(manifest).toMatchObject({
      causvid: true,
      loras: { activated: [CAUSVID_PRESET.loraFile], multipliers: "0.3" },
      settings: { guidance_scale: 1, flow_shift: 7, num_inference_steps: 12 },
    });
    const logs = await Promise.all(
      jobs.map((job) =>
        tf.farm.queues
          .byName(job.queueName)
          .getJobLogs(String(job.id))
          .then((result) => result.logs.join("\n")),
      ),
    );
    expect(logs.filter((log) => log.includes("CausVid LoRA: downloaded"))).toHaveLength(1);
    expect(logs.join("\n")).toMatch(/CausVid LoRA: \d+% \(/);
  });

  it("warns when the model is not a Wan 2.1 T2V 14B model, in the log and the manifest", async () => {
    const tf = await testFarm("causvid-warn");
    const wangpRoot = await copyOfFakeWangp(tf.dir);
    const { url } = await loraServer(randomBytes(1024));
    await importTasks(tf, [t2vTask("small-causvid", { model: "t2v_1.3B", use_causvid_lora: true })]);
    await startWorker(tf, { wangpRoot, causvidUrl: `${url}/${CAUSVID_PRESET.loraFile}` });
    const job = await waitForJob(tf, "small-causvid", modelQueueName("t2v_1.3B"));
    const summary = job.returnvalue as ResultSummary;
    const manifest = JSON.parse(
      await readFile(path.join(summary.output_dir, "result.json"), "utf8"),
    ) as ResultManifest;
    const warning = expect.stringMatching(
      /^warning: the CausVid LoRA is made for Wan 2.1 text-to-video 14B models; 't2v_1.3B'/,
    );
    expect(manifest.notes).toEqual(expect.arrayContaining([warning]));
    expect((await tf.farm.queues.byName(job.queueName).getJobLogs("small-causvid")).logs).toEqual(
      expect.arrayContaining([warning]),
    );
    // WanGP looks for the 1.3B model's LoRAs in its own family folder.
    expect(await readdir(path.join(wangpRoot, "loras", "wan_1.3B"))).toContain(CAUSVID_PRESET.loraFile);
  });

  it("goes to the folder the host's WanGP reports for the model, honouring --loras", async () => {
    const tf = await testFarm("causvid-loras-root");
    const wangpRoot = await copyOfFakeWangp(tf.dir);
    const lorasRoot = path.join(tf.dir, "shared-loras");
    const { url } = await loraServer(randomBytes(1024));
    await importTasks(tf, [t2vTask("moved-loras", { use_causvid_lora: true, steps: undefined })]);
    await startWorker(tf, {
      wangpRoot,
      wangpArgs: ["--loras", lorasRoot],
      causvidUrl: `${url}/${CAUSVID_PRESET.loraFile}`,
    });
    const job = await waitForJob(tf, "moved-loras", modelQueueName("t2v"));
    expect(job.failedReason ?? "ok").toBe("ok");
    expect(await readdir(path.join(lorasRoot, "wan"))).toEqual([CAUSVID_PRESET.loraFile]);
    expect(await readdir(path.join(wangpRoot, "loras", "wan"))).toEqual(["fixture_style.safetensors"]);
  });

  it("fails the task with a clear message when the download fails, and leaves no partial file", async () => {
    const tf = await testFarm("causvid-404");
    const wangpRoot = await copyOfFakeWangp(tf.dir);
    const { url } = await loraServer(randomBytes(1024));
    await importTasks(tf, [t2vTask("no-lora", { use_causvid_lora: true })], { attempts: 1, backoffMs: 50 });
    await startWorker(tf, { wangpRoot, causvidUrl: `${url}/gone.safetensors` });
    const job = await waitForJob(tf, "no-lora", modelQueueName("t2v"));
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toBe(
      `CausVid LoRA download from ${url}/gone.safetensors failed: HTTP 404 Not Found (the task needs ${path.join(wangpRoot, "loras", "wan", CAUSVID_PRESET.loraFile)})`,
    );
    expect(await readdir(path.join(wangpRoot, "loras", "wan"))).toEqual(["fixture_style.safetensors"]);
  });
});
