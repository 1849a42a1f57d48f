import { FarmEvents } from "@wgp-farm/queue";
import { afterEach, describe, expect, it } from "vitest";
import { ApiKeys } from "../src/index.js";
import { SseClient } from "./support/sse-client.js";
import { makeToken, openTestApi, type TestApi } from "./support/test-api.js";

let current: TestApi | undefined;
const clients: SseClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await current?.close();
  current = undefined;
});

async function setUp(overrides = {}) {
  current = await openTestApi(overrides);
  const log = new FarmEvents(current.farm.redis, current.farm.keys);
  const admin = await makeToken(current, ["admin"], "admin");
  return { api: current, log, admin };
}

async function follow(api: TestApi, token: string, query = "", lastEventId?: string): Promise<SseClient> {
  const client = await SseClient.open(`${api.api.url}/v1/events${query}`, token, lastEventId);
  clients.push(client);
  return client;
}

const event = (task_id: string, type: "queued" | "started" | "completed" = "queued", model = "t2v") => ({
  type,
  task_id,
  model,
});

describe("GET /v1/events", () => {
  it("streams farm events live, with the log's entry id as the SSE id", async () => {
    const { api, log, admin } = await setUp();
    const client = await follow(api, admin);
    expect(client.status).toBe(200);
    await log.record(event("live-1"));
    await log.record(event("live-1", "started"));
    const [first, second] = await client.take(2);
    expect(first?.event).toBe("queued");
    expect(JSON.parse(first?.data ?? "")).toMatchObject({
      task_id: "live-1",
      state: "waiting",
      model: "t2v",
    });
    expect(second?.event).toBe("started");
    expect(first?.id).toMatch(/^\d+-\d+$/);
    expect(await log.has(first?.id ?? "")).toBe(true);
  });

  it("resumes with Last-Event-ID without missing or repeating an event", async () => {
    const { api, log, admin } = await setUp();
    const client = await follow(api, admin);
    for (let i = 1; i <= 3; i += 1) await log.record(event(`r-${i}`));
    const seen = await client.take(3);
    await client.close();
    // Written while the client is away, and while it reconnects.
    for (let i = 4; i <= 6; i += 1) await log.record(event(`r-${i}`));
    const writing = (async () => {
      for (let i = 7; i <= 30; i += 1) await log.record(event(`r-${i}`));
    })();
    const resumed = await follow(api, admin, "", seen.at(-1)?.id ?? undefined);
    await writing;
    const rest = await resumed.take(27);
    const tasks = [...seen, ...rest].map((message) => JSON.parse(message.data).task_id);
    expect(tasks).toEqual(Array.from({ length: 30 }, (_, i) => `r-${i + 1}`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(resumed.messages).toHaveLength(27);
  });

  it("says `gap` when the Last-Event-ID has left the bounded log, then goes on live", async () => {
    const { api, log, admin } = await setUp();
    const small = new FarmEvents(api.farm.redis, api.farm.keys, { maxLen: 1 });
    await log.record(event("old"));
    const [oldest] = await log.after("0-0", 1);
    await api.farm.redis.xtrim(log.key, "MAXLEN", 0);
    await small.record(event("newer"));
    const client = await follow(api, admin, "", oldest?.id);
    const [gap] = await client.take(1);
    expect(gap?.event).toBe("gap");
    expect(JSON.parse(gap?.data ?? "")).toMatchObject({
      last_event_id: oldest?.id,
      message: expect.stringContaining("list the tasks"),
    });
    await log.record(event("after-gap"));
    const [, live] = await client.take(2);
    expect(JSON.parse(live?.data ?? "").task_id).toBe("after-gap");
  });

  it("filters by task, model, state and type; a non-admin token sees only its own tasks", async () => {
    const { api, log, admin } = await setUp();
    const reader = await makeToken(api, ["read"], "reader");
    const readerId = (await api.tokens.list()).find((token) => token.name === "reader")?.id ?? "";
    await api.farm.redis.hset(new ApiKeys(api.prefix).taskOwners, "mine", readerId);
    const byTask = await follow(api, admin, "?task=b");
    const byModel = await follow(api, admin, "?model=vace_14B");
    const byState = await follow(api, admin, "?state=completed,active");
    const byType = await follow(api, admin, "?type=started");
    const own = await follow(api, reader);
    await log.record(event("a"));
    await log.record(event("b", "started", "vace_14B"));
    await log.record(event("mine", "completed"));
    await log.record(event("b", "completed", "vace_14B"));
    const tasksOf = async (client: SseClient, count: number) =>
      (await client.take(count)).map((message) => `${JSON.parse(message.data).task_id}:${message.event}`);
    expect(await tasksOf(byTask, 2)).toEqual(["b:started", "b:completed"]);
    expect(await tasksOf(byModel, 2)).toEqual(["b:started", "b:completed"]);
    expect(await tasksOf(byState, 3)).toEqual(["b:started", "mine:completed", "b:completed"]);
    expect(await tasksOf(byType, 1)).toEqual(["b:started"]);
    expect(await tasksOf(own, 1)).toEqual(["mine:completed"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([byTask, byModel, byType, own].map((client) => client.messages.length)).toEqual([2, 2, 1, 1]);
  });

  it("refuses a bad filter, a bad Last-Event-ID and a token without the read scope", async () => {
    const { api, admin } = await setUp();
    const submitOnly = await makeToken(api, ["submit"]);
    const badState = await api.call("/v1/events?state=done", { token: admin });
    expect(badState.status).toBe(400);
    expect((await badState.json()).error.code).toBe("invalid_query");
    const badId = await api.call("/v1/events", { token: admin, headers: { "Last-Event-ID": "yesterday" } });
    expect(badId.status).toBe(400);
    expect((await badId.json()).error.code).toBe("invalid_last_event_id");
    expect((await api.call("/v1/events", { token: submitOnly })).status).toBe(403);
    expect((await api.call("/v1/events")).status).toBe(401);
  });

  it("sends heartbeats while nothing happens, and outlives the request timeout", async () => {
    const { api, admin } = await setUp({ sseHeartbeatMs: 100, requestTimeoutMs: 150 });
    const client = await follow(api, admin);
    await new Promise((resolve) => setTimeout(resolve, 450));
    // The opening comment plus at least two heartbeats.
    expect(client.comments).toBeGreaterThanOrEqual(3);
  });
});
