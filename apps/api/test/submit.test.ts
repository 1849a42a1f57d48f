import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

let api: TestApi;
let submitter: string;
let other: string;

beforeAll(async () => {
  api = await openTestApi();
  submitter = await makeToken(api, ["submit", "read"]);
  other = await makeToken(api, ["submit", "read"], "other");
});
afterAll(() => api.close());

async function jobOf(taskId: string) {
  return api.farm.queues.forModel("t2v").getJob(taskId);
}

describe("POST /v1/tasks", () => {
  it("queues one task and answers 201 with its id, state and links", async () => {
    const res = await api.call("/v1/tasks", { method: "POST", token: submitter, json: task("single-1") });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.tasks).toEqual([
      {
        index: 0,
        task_id: "single-1",
        state: "waiting",
        queue: "model.t2v",
        links: {
          self: "/v1/tasks/single-1",
          cancel: "/v1/tasks/single-1",
          retry: "/v1/tasks/single-1/retry",
        },
      },
    ]);
    expect(body.invalid).toEqual([]);
    expect((await jobOf("single-1"))?.data.task.prompt).toBe("a test video for single-1");
  });

  it("queues a batch; a bad task is refused per field with the typo hint and its valid neighbours still queue (207)", async () => {
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: { tasks: [task("batch-1"), task("batch-2", { promt: "typo", frames: "many" }), task("batch-3")] },
    });
    expect(res.status).toBe(207);
    const body = await res.json();
    expect(body.tasks.map((entry: { task_id: string }) => entry.task_id)).toEqual(["batch-1", "batch-3"]);
    expect(body.invalid).toHaveLength(1);
    expect(body.invalid[0].index).toBe(1);
    expect(body.invalid[0].task_id).toBe("batch-2");
    const paths = body.invalid[0].errors.map((error: { path: string }) => error.path);
    expect(paths).toEqual(expect.arrayContaining(["promt", "frames"]));
    const typo = body.invalid[0].errors.find((error: { path: string }) => error.path === "promt");
    expect(typo.message).toContain("did you mean 'prompt'?");
    expect(await jobOf("batch-2")).toBeUndefined();
    expect(await jobOf("batch-3")).toBeDefined();
  });

  it("answers 422 in the error shape when no task is valid, and queues nothing", async () => {
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: { tasks: [{ prompt: 3 }] },
    });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.code).toBe("invalid_tasks");
    expect(body.error.details.invalid[0].errors[0].path).toBe("prompt");
  });

  it("replays the stored response for a retried Idempotency-Key, and refuses the key with another body", async () => {
    const headers = { "Idempotency-Key": "key-one" };
    const first = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      headers,
      json: { tasks: [{ prompt: "no id given", model: "t2v" }] },
    });
    expect(first.status).toBe(201);
    const original = await first.json();
    // The task runs on meanwhile: the replay is the stored answer, not a fresh look.
    await api.farm.queues
      .forModel("t2v")
      .getJob(original.tasks[0].task_id)
      .then((job) => job?.updateProgress(50));
    const again = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      headers,
      json: { tasks: [{ model: "t2v", prompt: "no id given" }] },
    });
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(original);
    const changed = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      headers,
      json: { prompt: "another", model: "t2v" },
    });
    expect(changed.status).toBe(409);
    expect((await changed.json()).error.code).toBe("idempotency_key_reused");
    const jobs = await api.farm.queues.forModel("t2v").getJobs(["wait", "prioritized"]);
    expect(jobs.filter((job) => job.data.task.prompt === "no id given")).toHaveLength(1);
    expect(jobs.filter((job) => job.data.task.prompt === "another")).toHaveLength(0);
  });

  it("treats a task's own task_id as its idempotency key: same body replays, another body is a conflict", async () => {
    const first = await api.call("/v1/tasks", { method: "POST", token: submitter, json: task("by-id") });
    const again = await api.call("/v1/tasks", { method: "POST", token: submitter, json: task("by-id") });
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual(await first.json());
    const changed = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: task("by-id", { prompt: "changed" }),
    });
    expect(changed.status).toBe(409);
    const body = await changed.json();
    expect(body.error.details.invalid[0].errors[0].message).toContain(
      "submitted before with a different body",
    );
    expect((await jobOf("by-id"))?.data.task.prompt).toBe("a test video for by-id");
  });

  it("refuses a task id another token created (409), without touching its task", async () => {
    await api.call("/v1/tasks", { method: "POST", token: submitter, json: task("owned-by-first") });
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token: other,
      json: task("owned-by-first", { prompt: "mine now" }),
    });
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe("task_id_conflict");
    expect((await jobOf("owned-by-first"))?.data.task.prompt).toBe("a test video for owned-by-first");
  });

  it("leaves a task refused by the farm (output folder taken) unowned, so its id stays free", async () => {
    await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: task("dir-a", { output_sub_dir: "shared" }),
    });
    const refused = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: task("dir-b", { output_sub_dir: "shared" }),
    });
    expect(refused.status).toBe(422);
    expect((await refused.json()).error.details.invalid[0].errors[0].path).toBe("output_sub_dir");
    const byOther = await api.call("/v1/tasks", { method: "POST", token: other, json: task("dir-b") });
    expect(byOther.status).toBe(201);
  });

  it.each([
    [
      "malformed JSON",
      { body: '{"task_id": "x",', headers: { "Content-Type": "application/json" } },
      400,
      "invalid_json",
    ],
    [
      "a wrong content type",
      { body: "task_id=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } },
      415,
      "unsupported_media_type",
    ],
    [
      "a body over the limit",
      {
        body: JSON.stringify(task("big", { prompt: "x".repeat(1_100_000) })),
        headers: { "Content-Type": "application/json" },
      },
      413,
      "body_too_large",
    ],
    [
      "an unknown field beside tasks",
      {
        body: JSON.stringify({ tasks: [task("t")], taks: [] }),
        headers: { "Content-Type": "application/json" },
      },
      400,
      "unknown_field",
    ],
    ["a JSON list", { body: "[]", headers: { "Content-Type": "application/json" } }, 400, "invalid_body"],
  ])(
    "refuses %s with a clear 4xx in the one error shape, and queues nothing",
    async (_what, init, status, code) => {
      const before = await api.farm.redis.hlen(api.farm.keys.taskIndex);
      const res = await api.call("/v1/tasks", { method: "POST", token: submitter, ...init });
      expect(res.status).toBe(status);
      const body = await res.json();
      expect(body.error).toMatchObject({ status, code });
      expect(body.error.message.length).toBeGreaterThan(10);
      expect(await api.farm.redis.hlen(api.farm.keys.taskIndex)).toBe(before);
      expect((await api.call("/healthz")).status).toBe(200);
    },
  );

  it("refuses an unknown task field over HTTP (strict), naming it", async () => {
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: task("strict-1", { colour: "red" }),
    });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.details.invalid[0].errors[0]).toMatchObject({ path: "colour" });
  });
});

describe("tokens and scopes", () => {
  it("needs a token on every /v1 route, loopback included", async () => {
    for (const [method, path] of [
      ["GET", "/v1/tasks"],
      ["POST", "/v1/tasks"],
      ["GET", "/v1/openapi.json"],
    ] as const) {
      const res = await api.call(path, { method, json: method === "POST" ? task("no-token") : undefined });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toContain("Bearer");
      expect((await res.json()).error.code).toBe("token_required");
    }
    const forged = await api.call("/v1/tasks", { token: `wgpf_0123456789abcdef_${"A".repeat(43)}` });
    expect(forged.status).toBe(401);
  });

  it("refuses a revoked token at once", async () => {
    const made = await api.tokens.create("to-revoke", ["read"]);
    expect((await api.call("/v1/tasks", { token: made.token })).status).toBe(200);
    await api.tokens.revoke(made.info.id);
    const res = await api.call("/v1/tasks", { token: made.token });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("token_invalid");
  });

  it("stores only the hash of a token", async () => {
    const made = await api.tokens.create("hashed", ["read"]);
    const stored = await api.farm.redis.hget(`${api.prefix}:api:tokens`, made.info.id);
    expect(stored).not.toContain(made.token.split("_")[2]);
  });

  it("enforces scopes: a read-only token cannot submit, a submit-only token cannot read", async () => {
    const reader = await makeToken(api, ["read"]);
    const writer = await makeToken(api, ["submit"]);
    const submit = await api.call("/v1/tasks", { method: "POST", token: reader, json: task("scoped-1") });
    expect(submit.status).toBe(403);
    expect((await submit.json()).error.message).toContain("'submit' scope");
    expect(
      (await api.call("/v1/tasks", { method: "POST", token: writer, json: task("scoped-1") })).status,
    ).toBe(201);
    expect((await api.call("/v1/tasks/scoped-1", { token: writer })).status).toBe(403);
    expect((await api.call("/v1/tasks/scoped-1", { method: "DELETE", token: writer })).status).toBe(403);
  });

  it("serves its OpenAPI 3.1 document", async () => {
    const res = await api.call("/v1/openapi.json", { token: submitter });
    expect(res.status).toBe(200);
    const document = await res.json();
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        "/v1/tasks",
        "/v1/tasks/{id}",
        "/v1/tasks/{id}/retry",
        "/v1/tasks/{id}/files/{name}",
        "/v1/inputs",
      ]),
    );
  });
});
