import { mkdir, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

const SECRET = "content-from-outside-the-output-root";
let api: TestApi;
let owner: string;
let stranger: string;
let admin: string;

beforeAll(async () => {
  api = await openTestApi();
  owner = await makeToken(api, ["submit", "read", "cancel"]);
  stranger = await makeToken(api, ["submit", "read", "cancel"], "stranger");
  admin = await makeToken(api, ["admin"], "admin");
});
afterAll(() => api.close());

/** A GET whose path is sent as written (fetch would resolve its dot segments first). */
function rawGet(pathname: string): Promise<{ statusCode: number; body: string }> {
  const done = Promise.withResolvers<{ statusCode: number; body: string }>();
  const req = request(
    `${api.api.url}${pathname}`,
    { headers: { Authorization: `Bearer ${owner}` } },
    (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        done.resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    },
  );
  req.path = pathname;
  req.on("error", done.reject);
  req.end();
  return done.promise;
}

async function submit(json: unknown, token = owner) {
  const res = await api.call("/v1/tasks", { method: "POST", token, json });
  expect(res.status).toBe(201);
  return res.json();
}

describe("GET /v1/tasks/{id}", () => {
  it("shows state, attempts and queue position of a waiting task", async () => {
    await submit({ tasks: [task("get-1"), task("get-2")] });
    const res = await api.call("/v1/tasks/get-2", { token: owner });
    expect(res.status).toBe(200);
    const view = await res.json();
    expect(view).toMatchObject({
      task_id: "get-2",
      state: "waiting",
      model: "t2v",
      queue: "model.t2v",
      queue_position: 2,
    });
    expect(view.attempts).toMatchObject({ made: 0, max: 3 });
    expect(view.links.self).toBe("/v1/tasks/get-2");
  });

  it("hides a task from another token (404) but not from an admin", async () => {
    expect((await api.call("/v1/tasks/get-1", { token: stranger })).status).toBe(404);
    expect((await api.call("/v1/tasks/get-1", { token: stranger, method: "DELETE" })).status).toBe(404);
    expect((await api.call("/v1/tasks/get-1", { token: admin })).status).toBe(200);
    expect((await api.call("/v1/tasks/never-was", { token: owner })).status).toBe(404);
  });
});

describe("GET /v1/tasks", () => {
  it("pages through the token's tasks with a cursor, newest first, each once", async () => {
    const lister = await makeToken(api, ["submit", "read"], "lister");
    const ids = ["list-a", "list-b", "list-c", "list-d", "list-e"];
    await submit({ tasks: ids.slice(0, 3).map((id) => task(id)) }, lister);
    await submit({ tasks: ids.slice(3).map((id) => task(id, { model: "i2v" })) }, lister);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `limit=2&cursor=${cursor}` : "limit=2";
      const res = await api.call(`/v1/tasks?${query}`, { token: lister });
      expect(res.status).toBe(200);
      const page = await res.json();
      seen.push(...page.tasks.map((view: { task_id: string }) => view.task_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.slice(0, 2).sort()).toEqual(["list-d", "list-e"]);
    expect([...seen].sort()).toEqual(ids);
    const byModel = await (await api.call("/v1/tasks?model=i2v", { token: lister })).json();
    expect(byModel.tasks.map((view: { task_id: string }) => view.task_id).sort()).toEqual([
      "list-d",
      "list-e",
    ]);
    const later = await (
      await api.call(`/v1/tasks?since=${new Date(Date.now() + 60_000).toISOString()}`, { token: lister })
    ).json();
    expect(later.tasks).toEqual([]);
    const bad = await api.call("/v1/tasks?state=sleeping", { token: lister });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details[0].path).toBe("state");
  });
});

describe("DELETE /v1/tasks/{id} and POST /v1/tasks/{id}/retry", () => {
  it("cancels a waiting task and runs it again on retry", async () => {
    await submit(task("cancel-1"));
    const cancelled = await api.call("/v1/tasks/cancel-1", { method: "DELETE", token: owner });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ task_id: "cancel-1", outcome: "removed" });
    expect((await (await api.call("/v1/tasks/cancel-1", { token: owner })).json()).state).toBe("cancelled");
    const retried = await api.call("/v1/tasks/cancel-1/retry", { method: "POST", token: owner });
    expect(retried.status).toBe(202);
    expect((await (await api.call("/v1/tasks/cancel-1", { token: owner })).json()).state).toBe("waiting");
    const again = await api.call("/v1/tasks/cancel-1/retry", { method: "POST", token: owner });
    expect(again.status).toBe(409);
    expect((await again.json()).error).toMatchObject({ code: "not_retriable", status: 409 });
  });
});

describe("GET /v1/tasks/{id}/files/{name}", () => {
  const video = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

  beforeAll(async () => {
    await submit(task("files-1"));
    const folder = path.join(api.outputRoot, "files-1");
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, "files-1.mp4"), video);
    await writeFile(path.join(folder, ".staging"), "hidden");
    await writeFile(path.join(api.outside, "secret.txt"), SECRET);
    await symlink(path.join(api.outside, "secret.txt"), path.join(folder, "escape.txt"));
    await symlink(api.outside, path.join(api.outputRoot, "files-1", "outdir"));
  });

  it("streams a file with its content type, and a byte range", async () => {
    const whole = await api.call("/v1/tasks/files-1/files/files-1.mp4", { token: owner });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("Content-Type")).toBe("video/mp4");
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(video);
    const part = await api.call("/v1/tasks/files-1/files/files-1.mp4", {
      token: owner,
      headers: { Range: "bytes=100-199" },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe("bytes 100-199/1000");
    expect(Buffer.from(await part.arrayBuffer())).toEqual(video.subarray(100, 200));
  });

  it.each([
    ["..%2F..%2Fetc%2Fpasswd", 400],
    ["..%5C..%5Coutside%5Csecret.txt", 400],
    [".staging", 400],
    ["escape.txt", 404],
    ["outdir", 404],
    ["missing.mp4", 404],
  ])("refuses %s (%i) and never serves a byte from outside the task's folder", async (name, status) => {
    const res = await api.call(`/v1/tasks/files-1/files/${name}`, { token: owner });
    expect(res.status).toBe(status);
    const body = await res.text();
    expect(body).not.toContain(SECRET);
    expect(JSON.parse(body).error.status).toBe(status);
  });

  it("answers a literal ../ in the path with a 404, not a file", async () => {
    const { statusCode, body } = await rawGet(
      `/v1/tasks/files-1/files/../../../${path.basename(api.outside)}/secret.txt`,
    );
    expect(statusCode).toBe(404);
    expect(body).not.toContain(SECRET);
    expect(JSON.parse(body).error.code).toBe("not_found");
  });

  it("refuses another token's task files", async () => {
    expect((await api.call("/v1/tasks/files-1/files/files-1.mp4", { token: stranger })).status).toBe(404);
  });
});
