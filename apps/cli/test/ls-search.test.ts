import { FarmConnection, searchTasks } from "@wgp-farm/queue";
import { importTestTasks, uniquePrefix } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];
const ids = (tasks: { task_id: string }[]) => tasks.map((task) => task.task_id).sort();

beforeAll(async () => {
  prefix = uniquePrefix("cli-search");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  await importTestTasks(farm, [
    { task_id: "harbour-1", prompt: "A harbour at sunset, gulls circling" },
    { task_id: "forest-1", prompt: "Fog lifting over a pine forest" },
    { task_id: "vace-harbour", model: "vace_14B", prompt: "Harbour cranes in the rain" },
  ]);
});
afterAll(async () => {
  await farm.close();
});

async function lsJson(...args: string[]): Promise<{ task_id: string; state: string }[]> {
  const run = await runCli(["ls", ...args, "--json", ...farmArgs()]);
  expect(run.stderr).toBe("");
  return JSON.parse(run.stdout);
}

describe("wgp-farm ls --search", () => {
  it("gives the same tasks as the dashboard's search, by words, id prefix, model and time", async () => {
    const harbour = await lsJson("--search", "harb");
    expect(ids(harbour)).toEqual(["harbour-1", "vace-harbour"]);
    expect(harbour).toEqual(await searchTasks(farm, { text: "harb" }));
    expect(ids(await lsJson("--search", "fores"))).toEqual(["forest-1"]);
    expect(ids(await lsJson("--search", "harbour", "--model", "vace_14B"))).toEqual(["vace-harbour"]);
    expect(ids(await lsJson("--since", "1h", "--state", "waiting"))).toHaveLength(3);
    expect(await lsJson("--until", "2020-01-01")).toEqual([]);
  }, 120_000);

  it("refuses a time it cannot read (exit 2)", async () => {
    const run = await runCli(["ls", "--since", "yesterday-ish", ...farmArgs()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("neither a time");
  }, 30_000);
});
