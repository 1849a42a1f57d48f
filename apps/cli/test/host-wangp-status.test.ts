import { FarmConnection, type HostCatalog, HostCatalogs, SlotRegistry } from "@wgp-farm/queue";
import { importTestTasks, uniquePrefix } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

function hostCatalog(host: string, version: string, models: string[]): HostCatalog {
  return {
    host,
    wangp_root: "/opt/Wan2GP",
    version,
    mmgp_version: version.startsWith("13") ? "3.8.2" : "3.7.12",
    settings_version: 2.74,
    model_types: models,
    setting_names: ["prompt", "num_inference_steps"],
    media_keys: ["video_guide"],
    preflight: { ok: true, problems: host === "render-02" ? ["settings: no settings/ folder"] : [] },
    slot_id: `gpu0@${host}`,
    updated_at: new Date().toISOString(),
  };
}

beforeAll(async () => {
  prefix = uniquePrefix("cli-host-wangp");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  await importTestTasks(farm, [{ task_id: "t2v-1" }, { task_id: "vace-1", model: "vace_14B" }]);
  const catalogs = new HostCatalogs(farm.redis, farm.keys, 60_000);
  await catalogs.publish(hostCatalog("render-01", "12.60", ["t2v", "i2v"]));
  await catalogs.publish(hostCatalog("render-02", "13.0", ["t2v", "i2v", "auk"]));
  await new SlotRegistry(farm.redis, farm.keys).publish({
    slot_id: "gpu0@render-01",
    host: "render-01",
    gpu_index: 0,
    gpu_name: "NVIDIA L40S",
    worker_name: "gpu0@render-01",
    pid: 77,
    state: "busy",
    loaded_model: "t2v",
    current: {
      task_id: "t2v-1",
      queue: "model.t2v",
      started_at: new Date().toISOString(),
      progress: {
        phase: "inference_stage_2",
        step: 4,
        total: 10,
        percent: 61,
        eta_s: 95,
        window: 2,
        windows: 3,
        slot: "gpu0@render-01",
      },
    },
    jobs_done: 0,
    jobs_failed: 0,
    engine_restarts: 0,
    model_switches: 0,
    busy_ms: 0,
    started_at: new Date().toISOString(),
    last_error: null,
    updated_at: new Date().toISOString(),
  });
}, 60_000);

afterAll(async () => {
  await farm.close();
});

describe("wgp-farm status and the hosts' WanGP", () => {
  it("lists each host's WanGP version and the models whose tasks wait for a host that knows them", async () => {
    const table = await runCli(["status", ...farmArgs()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("WanGP (hosts differ: an upgrade in progress?)");
    expect(table.stdout).toMatch(/render-01\s+12\.60\s+3\.7\.12\s+2\s+ok\s+\/opt\/Wan2GP/);
    expect(table.stdout).toMatch(/render-02\s+13\.0\s+3\.8\.2\s+3\s+settings: no settings\/ folder/);
    expect(table.stdout).toContain("model.vace_14B: waiting for a host that knows vace_14B");
    expect(table.stdout).toMatch(/model\.vace_14B\s+1\s+0\s+0\s+0\s+0\s+\S+.*no host knows it/);
    expect(table.stdout).not.toContain("waiting for a host that knows t2v");
    expect(table.stdout).toMatch(/inference_stage_2 4\/10 window 2\/3 61%\s+1m 35s/);

    const json = JSON.parse((await runCli(["status", "--json", ...farmArgs()])).stdout);
    expect(json.models_without_host).toEqual(["vace_14B"]);
    expect(
      json.wangp_hosts.map((host: { host: string; version: string }) => [host.host, host.version]),
    ).toEqual([
      ["render-01", "12.60"],
      ["render-02", "13.0"],
    ]);
  });
});
