import { connect } from "node:net";
import path from "node:path";
import { FarmConnection, findFreePort } from "@wgp-farm/queue";
import { temporaryDir, uniquePrefix, WGP_FARM_BIN, waitUntil } from "@wgp-farm/testing";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ApiKeys, ApiTokenStore } from "../src/index.js";
import type { TestResponse } from "./support/test-api.js";

/**
 * A client that never saw the answer to its submit retries it against a restarted API (a real
 * `wgp-farm api` process, killed with SIGKILL): the farm ends with exactly one task.
 */
describe("a submit retried across an API crash", () => {
  const redisUrl = inject("redisUrl");
  const prefix = uniquePrefix("crash");
  let farm: FarmConnection;
  let token: string;
  let port: number;
  let base: string;
  let tmp: Awaited<ReturnType<typeof temporaryDir>>;
  let child: ResultPromise | undefined;

  async function startApi(): Promise<void> {
    child = execa(
      WGP_FARM_BIN,
      [
        "api",
        `--port=${port}`,
        `--redis-url=${redisUrl}`,
        `--prefix=${prefix}`,
        `--output-root=${path.join(tmp.dir, "outputs")}`,
        `--inputs-dir=${path.join(tmp.dir, "inputs")}`,
      ],
      { env: { WGP_FARM_LOG_LEVEL: "silent" }, reject: false },
    );
    await waitUntil(
      async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200,
      20_000,
    );
  }

  async function killApi(): Promise<void> {
    child?.kill("SIGKILL");
    await child;
  }

  function submit(body: unknown, key: string) {
    return fetch(`${base}/v1/tasks`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "Idempotency-Key": key,
      },
      body: JSON.stringify(body),
    }) as Promise<TestResponse>;
  }

  async function jobsWithPrompt(prompt: string) {
    const jobs = await farm.queues.forModel("t2v").getJobs(["wait", "prioritized", "active"]);
    return jobs.filter((job) => job.data.task.prompt === prompt);
  }

  beforeAll(async () => {
    tmp = await temporaryDir("api-crash");
    farm = await FarmConnection.open(redisUrl, prefix);
    token = (await new ApiTokenStore(farm.redis, new ApiKeys(prefix)).create("crash", ["submit", "read"]))
      .token;
    port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await killApi();
    await farm.close();
    await tmp.remove();
  });

  it("killed while the body was still arriving: nothing queued; the retry queues one task", async () => {
    await startApi();
    const body = JSON.stringify({ prompt: "half a body", model: "t2v" });
    const socket = connect(port, "127.0.0.1");
    const closed = Promise.withResolvers<void>();
    socket.on("close", () => closed.resolve());
    // The reset that follows the kill is the point of this test.
    socket.on("error", (error) => error);
    socket.write(
      `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nIdempotency-Key: half\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await killApi();
    await closed.promise;
    expect(await jobsWithPrompt("half a body")).toHaveLength(0);
    await startApi();
    const retried = await submit(JSON.parse(body), "half");
    expect(retried.status).toBe(201);
    expect(await jobsWithPrompt("half a body")).toHaveLength(1);
  });

  it("killed right after the task was written: the retry answers with the same task, and there is one", async () => {
    const body = { tasks: [{ prompt: "written then killed", model: "t2v" }] };
    // The answer is never read: the process dies as soon as the task is in Redis.
    submit(body, "after-write").catch((error: unknown) => error);
    await waitUntil(async () => (await jobsWithPrompt("written then killed")).length === 1, 10_000);
    await killApi();
    const [queued] = await jobsWithPrompt("written then killed");
    await startApi();
    const retried = await submit(body, "after-write");
    expect(retried.status).toBe(201);
    const answer = await retried.json();
    expect(answer.tasks.map((entry: { task_id: string }) => entry.task_id)).toEqual([queued?.id]);
    expect(await jobsWithPrompt("written then killed")).toHaveLength(1);
    const replay = await submit(body, "after-write");
    expect(await replay.json()).toEqual(answer);
  });

  it("an answer lost before it was stored: the retry rebuilds it from the farm, never queues twice", async () => {
    const body = { prompt: "answer never stored", model: "t2v" };
    const first = await (await submit(body, "unstored")).json();
    // What a crash between the write and the stored answer leaves: the key claimed, no answer.
    const keys = await farm.redis.keys(`${prefix}:api:idempotency:*:key:*`);
    for (const key of keys) {
      const record = JSON.parse((await farm.redis.get(key)) ?? "{}");
      if (record.response?.body?.tasks?.[0]?.task_id === first.tasks[0].task_id) {
        await farm.redis.set(key, JSON.stringify({ ...record, response: null }));
      }
    }
    await farm.redis.del(`${prefix}:api:idempotency:${token.split("_")[1]}:task:${first.tasks[0].task_id}`);
    const retried = await submit(body, "unstored");
    expect(retried.status).toBe(201);
    expect((await retried.json()).tasks[0].task_id).toBe(first.tasks[0].task_id);
    expect(await jobsWithPrompt("answer never stored")).toHaveLength(1);
  });
});
