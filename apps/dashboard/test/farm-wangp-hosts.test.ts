import { HostCatalogs } from "@wgp-farm/queue";
import { importTestTasks } from "@wgp-farm/testing";
import { afterEach, describe, expect, it } from "vitest";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

let open: TestDashboard | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe("the farm view and the hosts' WanGP", () => {
  it("reports each host's WanGP and the models whose tasks wait for a host that knows them", async () => {
    open = await openTestDashboard();
    const { farm } = open;
    await importTestTasks(farm, [{ task_id: "t2v-1" }, { task_id: "vace-1", model: "vace_14B" }]);
    await new HostCatalogs(farm.redis, farm.keys, 60_000).publish({
      host: "render-01",
      wangp_root: "/opt/Wan2GP",
      version: "12.60",
      mmgp_version: "3.7.12",
      settings_version: 2.74,
      model_types: ["t2v", "i2v"],
      setting_names: ["prompt"],
      media_keys: ["video_guide"],
      preflight: { ok: true, problems: [] },
      slot_id: "gpu0@render-01",
      updated_at: new Date().toISOString(),
    });
    const response = await fetch(`${open.base}/farm/api/status`, { headers: OPERATOR });
    expect(response.status).toBe(200);
    const status = (await response.json()) as { models_without_host: string[]; wangp_hosts: unknown[] };
    expect(status.models_without_host).toEqual(["vace_14B"]);
    expect(status.wangp_hosts).toEqual([
      expect.objectContaining({
        host: "render-01",
        version: "12.60",
        mmgp_version: "3.7.12",
        model_types: 2,
      }),
    ]);
    const page = await (await fetch(`${open.base}/assets/farm.js`, { headers: OPERATOR })).text();
    expect(page).toContain("waiting for a host that knows");
  });
});
