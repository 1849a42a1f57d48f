import { modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import { importTasks, startWorker, t2vTask, testFarm, waitForJob } from "./support.js";

describe("WanGP's errors, by what they say", () => {
  it("fails a user error raised during generation at once, and retries a failed weight download", async () => {
    const tf = await testFarm("error-kinds");
    await importTasks(
      tf,
      [
        t2vTask("bad-lora", { prompt: "a storm [fake:lora-load]" }),
        // The download fails as the model loads: a model of its own, not the one already loaded.
        t2vTask("offline", { prompt: "a storm [fake:download]", model: "t2v_1.3B" }),
      ],
      { attempts: 2, backoffMs: 50 },
    );
    await startWorker(tf);
    const badLora = await waitForJob(tf, "bad-lora", modelQueueName("t2v"));
    expect(badLora.attemptsMade).toBe(1);
    expect(badLora.failedReason).toMatch(/^invalid: .*Error while loading Loras: missing_style\.safetensors/);
    const offline = await waitForJob(tf, "offline", modelQueueName("t2v_1.3B"));
    expect(offline.attemptsMade).toBe(2);
    expect(offline.failedReason).toMatch(/^download failed: /);
  });
});
