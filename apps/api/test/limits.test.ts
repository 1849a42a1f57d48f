import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { RedisServerProcess } from "@wgp-farm/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

describe("a token's submit budget", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await openTestApi({ submitRate: 3, maxInFlight: 2, requestTimeoutMs: 500 });
  });
  afterAll(() => api.close());

  it("answers 429 with Retry-After past the submit rate, for that token only", async () => {
    const busy = await makeToken(api, ["submit", "read"], "busy");
    const calm = await makeToken(api, ["submit", "read"], "calm");
    const statuses: number[] = [];
    // Every submit request counts, valid or not (these queue nothing, so the in-flight cap stays out of it).
    for (let i = 0; i < 4; i++) {
      const res = await api.call("/v1/tasks", { method: "POST", token: busy, json: { prompt: 1 } });
      statuses.push(res.status);
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get("Retry-After"));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect((await res.json()).error.code).toBe("rate_limited");
      }
    }
    expect(statuses).toEqual([422, 422, 422, 429]);
    expect(
      (await api.call("/v1/tasks", { method: "POST", token: calm, json: task("rate-calm") })).status,
    ).toBe(201);
  });

  it("caps a token's tasks in flight; a finished (cancelled) task frees its room", async () => {
    const token = await makeToken(api, ["submit", "read", "cancel"], "capped");
    const first = await api.call("/v1/tasks", {
      method: "POST",
      token,
      json: { tasks: [task("cap-1"), task("cap-2")] },
    });
    expect(first.status).toBe(201);
    const over = await api.call("/v1/tasks", { method: "POST", token, json: task("cap-3") });
    expect(over.status).toBe(429);
    const body = await over.json();
    expect(body.error).toMatchObject({
      code: "too_many_in_flight",
      details: { in_flight: 2, max_in_flight: 2 },
    });
    expect(await api.farm.queues.forModel("t2v").getJob("cap-3")).toBeUndefined();
    expect((await api.call("/v1/tasks/cap-1", { method: "DELETE", token })).status).toBe(200);
    expect((await api.call("/v1/tasks", { method: "POST", token, json: task("cap-3") })).status).toBe(201);
  });

  it("drops a client that sends its request too slowly, and keeps serving", async () => {
    const socket = connect(api.api.port, "127.0.0.1");
    const closed = Promise.withResolvers<string>();
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("close", () => closed.resolve(answer));
    socket.write("POST /v1/tasks HTTP/1.1\r\nHost: x\r\n");
    // Never finishes its headers: the server's timeout must end the connection.
    expect(await closed.promise).toContain("408");
    expect((await api.call("/healthz")).status).toBe(200);
  });
});

describe("Redis unreachable", () => {
  let redis: RedisServerProcess;
  let dataDir: string;
  let api: TestApi;
  let token: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-api-redis-"));
    redis = await RedisServerProcess.start({ dataDir, persistence: "none" });
    api = await openTestApi({ redisUrl: redis.url });
    token = await makeToken(api, ["submit", "read"]);
    expect((await api.call("/healthz")).status).toBe(200);
    await redis.stop();
  });
  afterAll(async () => {
    await api.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("fails closed: 503 with Retry-After on submit and reads, and /healthz says so", async () => {
    const health = await api.call("/healthz");
    expect(health.status).toBe(503);
    expect((await health.json()).redis.reachable).toBe(false);
    for (const [method, pathname] of [
      ["POST", "/v1/tasks"],
      ["GET", "/v1/tasks"],
      ["GET", "/v1/tasks/x"],
    ] as const) {
      const res = await api.call(pathname, {
        method,
        token,
        json: method === "POST" ? task("while-down") : undefined,
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("5");
      expect((await res.json()).error.code).toBe("redis_unavailable");
    }
  });
});
