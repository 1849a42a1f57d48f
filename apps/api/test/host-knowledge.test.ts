import { HostCatalogs } from "@wgp-farm/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

let api: TestApi;
let submitter: string;

beforeAll(async () => {
  api = await openTestApi();
  submitter = await makeToken(api, ["submit", "read"]);
});
afterAll(() => api.close());

const NEWER_MODEL = "a_model_only_a_newer_wangp_knows";

describe("POST /v1/tasks against what the farm's hosts know", () => {
  it("warns of a model the built-in catalog does not know, and not once a live host's WanGP knows it", async () => {
    const before = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: { ...task("newer-1"), model: NEWER_MODEL },
    });
    expect(before.status).toBe(201);
    expect(JSON.stringify((await before.json()).warnings)).toContain("is not a model type");

    await new HostCatalogs(api.farm.redis, api.farm.keys, 60_000).publish({
      host: "render-01",
      wangp_root: "/opt/Wan2GP",
      version: "13.1",
      mmgp_version: "3.8.2",
      settings_version: 2.8,
      model_types: ["t2v", NEWER_MODEL],
      setting_names: ["prompt"],
      media_keys: ["video_guide"],
      preflight: null,
      slot_id: "gpu0@render-01",
      updated_at: new Date().toISOString(),
    });
    const after = await api.call("/v1/tasks", {
      method: "POST",
      token: submitter,
      json: { ...task("newer-2"), model: NEWER_MODEL },
    });
    expect(after.status).toBe(201);
    expect((await after.json()).tasks[0]).toMatchObject({
      task_id: "newer-2",
      queue: `model.${NEWER_MODEL}`,
    });
  });
});
