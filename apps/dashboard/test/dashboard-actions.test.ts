import { readWorkEntry } from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, testManifest, waitUntil } from "@wgp-farm/testing";
import type { Worker } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

const T2V = encodeURIComponent("models:model.t2v");

let open: TestDashboard | undefined;
let worker: Worker | undefined;
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await open?.close();
  open = undefined;
});

async function sessionCookie(base: string): Promise<string> {
  const login = await fetch(`${base}/login`, {
    method: "POST",
    body: new URLSearchParams({ username: "operator", password: "correct horse battery" }),
    redirect: "manual",
  });
  return (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
}

describe("dashboard actions", () => {
  it("refuses every action server-side when read-only, whatever the client sends", async () => {
    open = await openTestDashboard({ readOnly: true });
    await importTestTasks(open.farm, [{ task_id: "ro-1" }]);
    await waitUntil(async () => (await fetch(`${open?.base}/queues/api/queues`, { headers: OPERATOR })).ok);
    const queues = (await (await fetch(`${open.base}/queues/api/queues`, { headers: OPERATOR })).json()) as {
      queues: { name: string; readOnlyMode: boolean }[];
    };
    expect(queues.queues.every((queue) => queue.readOnlyMode)).toBe(true);
    const pause = await fetch(`${open.base}/queues/api/queues/${T2V}/pause`, {
      method: "PUT",
      headers: OPERATOR,
    });
    expect(pause.status).toBe(405);
    const clean = await fetch(`${open.base}/queues/api/queues/${T2V}/clean/wait`, {
      method: "PUT",
      headers: OPERATOR,
    });
    expect(clean.status).toBe(405);
    const cancel = await fetch(`${open.base}/farm/api/tasks/ro-1/cancel`, {
      method: "POST",
      headers: OPERATOR,
    });
    expect(cancel.status).toBe(405);
    expect(await open.farm.queues.forModel("t2v").isPaused()).toBe(false);
    expect(await open.farm.queues.forModel("t2v").getJobState("ro-1")).toBe("prioritized");
    // Logging in still works on a read-only dashboard.
    expect(await sessionCookie(open.base)).toMatch(/^wgp_farm_session=/);
  });

  it("refuses cross-site requests (a form on another site posting with the operator's cookie)", async () => {
    open = await openTestDashboard();
    await importTestTasks(open.farm, [{ task_id: "csrf-1" }]);
    const cookie = await sessionCookie(open.base);
    const crossSite = await fetch(`${open.base}/farm/api/tasks/csrf-1/cancel`, {
      method: "POST",
      headers: {
        Cookie: cookie,
        "Sec-Fetch-Site": "cross-site",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "x=1",
    });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await fetch(`${open.base}/queues/api/queues/${T2V}/pause`, {
      method: "PUT",
      headers: { Cookie: cookie, Origin: "https://evil.example" },
    });
    expect(otherOrigin.status).toBe(403);
    const loginCsrf = await fetch(`${open.base}/login`, {
      method: "POST",
      headers: { Origin: "https://evil.example" },
      body: new URLSearchParams({ username: "operator", password: "correct horse battery" }),
      redirect: "manual",
    });
    expect(loginCsrf.status).toBe(403);
    expect(await open.farm.queues.forModel("t2v").getJobState("csrf-1")).toBe("prioritized");
    expect(await open.farm.queues.forModel("t2v").isPaused()).toBe(false);

    const sameOrigin = await fetch(`${open.base}/farm/api/tasks/csrf-1/cancel`, {
      method: "POST",
      headers: { Cookie: cookie, "Sec-Fetch-Site": "same-origin", Origin: open.base },
    });
    expect(sameOrigin.status).toBe(200);
    expect(await sameOrigin.json()).toMatchObject({ task_id: "csrf-1", outcome: "removed" });
    const unknown = await fetch(`${open.base}/farm/api/tasks/nope/cancel`, {
      method: "POST",
      headers: OPERATOR,
    });
    expect(unknown.status).toBe(404);
  });

  it("pauses and resumes a model queue from the board through the farm: a resume wakes waiting slots at once", async () => {
    open = await openTestDashboard();
    const { farm } = open;
    await importTestTasks(farm, [{ task_id: "p-1" }, { task_id: "p-2" }, { task_id: "p-3" }]);
    const board = (action: string, queue = `${T2V}/`) =>
      fetch(`${open?.base}/queues/api/queues/${queue}${action}`, { method: "PUT", headers: OPERATOR });
    await waitUntil(async () => (await board("pause")).status === 200);
    expect(await farm.queues.forModel("t2v").isPaused()).toBe(true);

    const slot = farm.redis.duplicate();
    /** What a slot waiting on the work signal hears while `resume` runs (at most 10 s of waiting). */
    const heardDuring = async (resume: () => Promise<Response>) => {
      const [last] = await farm.redis.xrevrange(farm.keys.workSignal, "+", "-", "COUNT", 1);
      const heard = slot.xread("BLOCK", 10_000, "STREAMS", farm.keys.workSignal, last?.[0] ?? "0-0");
      expect((await resume()).status).toBe(200);
      return ((await heard) ?? []).flatMap(([, stream]) => stream.map(([, fields]) => readWorkEntry(fields)));
    };
    try {
      // One arrival per waiting task, as `wgp-farm resume` announces: not left to the idle recheck.
      expect(await heardDuring(() => board("resume"))).toMatchObject([
        { reason: "resume", models: ["t2v"], count: 3 },
      ]);
      expect(await farm.queues.forModel("t2v").isPaused()).toBe(false);
      // The board's "resume all" goes the same way.
      expect((await board("pause", "")).status).toBe(200);
      expect(await heardDuring(() => board("resume", ""))).toMatchObject([
        { reason: "resume", models: ["t2v"], count: 3 },
      ]);
    } finally {
      slot.disconnect();
    }
  });

  it("shows queues created after start, refuses hand-made jobs, and keeps the task index consistent on clean and remove", async () => {
    open = await openTestDashboard();
    const boardQueues = async () =>
      (
        (await (await fetch(`${open?.base}/queues/api/queues`, { headers: OPERATOR })).json()) as {
          queues: { name: string }[];
        }
      ).queues.map((queue) => queue.name);
    expect(await boardQueues()).toEqual(["farm:quarantine"]);
    await importTestTasks(open.farm, [
      { task_id: "ok-1" },
      { task_id: "ok-2" },
      { task_id: "small-1", model: "t2v_1.3B", output_sub_dir: "small/one" },
    ]);
    await waitUntil(async () => (await boardQueues()).length === 3);
    expect((await boardQueues()).sort()).toEqual([
      "farm:quarantine",
      "models:model.t2v",
      "models:model.t2v_1.3B",
    ]);

    const added = await fetch(`${open.base}/queues/api/queues/${T2V}/add`, {
      method: "POST",
      headers: { ...OPERATOR, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "sneaky", data: { task: { output_sub_dir: "../../etc" } }, options: {} }),
    });
    expect(added.status).toBe(403);

    worker = await startTestWorker(open.farm, "model.t2v", async (job) =>
      testManifest(job, { queue_wait_s: 1, model_load_s: 0, generation_s: 2 }),
    );
    await waitUntil(async () => (await open?.farm.queues.forModel("t2v").getCompletedCount()) === 2);
    const completedAt = Date.now();
    const { redis, keys } = open.farm;
    expect(await redis.hget(keys.taskIndex, "ok-1")).toBe("model.t2v");

    const small = encodeURIComponent("models:model.t2v_1.3B");
    const remove = await fetch(`${open.base}/queues/api/queues/${small}/small-1/clean`, {
      method: "PUT",
      headers: OPERATOR,
    });
    expect(remove.status).toBe(204);
    expect(await redis.hget(keys.taskIndex, "small-1")).toBeNull();
    expect(await redis.hget(keys.outputDirs, "small/one")).toBeNull();

    // Bull Board cleans jobs finished more than 5 s ago.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, completedAt + 5100 - Date.now())));
    const clean = await fetch(`${open.base}/queues/api/queues/${T2V}/clean/completed`, {
      method: "PUT",
      headers: OPERATOR,
    });
    expect(clean.status).toBe(200);
    expect(await open.farm.queues.forModel("t2v").getCompletedCount()).toBe(0);
    expect(await redis.hmget(keys.taskIndex, "ok-1", "ok-2")).toEqual([null, null]);
    expect(await redis.hmget(keys.outputDirs, "ok-1", "ok-2")).toEqual([null, null]);
  });
});
