import { writeFile } from "node:fs/promises";
import path from "node:path";
import { FarmConnection } from "@wgp-farm/queue";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

/**
 * The stitch queue in the operator's commands: a flow imported with `import-tasks` (no worker runs, so
 * the stitch waits for its segments), then seen with `status`, found with `ls`, paused and resumed.
 */
let prefix: string;
let farm: FarmConnection;
let temp: { dir: string; remove: () => Promise<void> };
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

beforeEach(async () => {
  prefix = uniquePrefix("cli-pipe-q");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  temp = await temporaryDir("cli-pipeline-queues");
  const file = path.join(temp.dir, "travel.json");
  await writeFile(
    file,
    JSON.stringify([
      { task_id: "seg_01", prompt: "a lighthouse", model: "t2v" },
      { task_id: "seg_02", prompt: "a storm", model: "t2v" },
      { task_id: "travel", stitch: { from: ["seg_01", "seg_02"] } },
    ]),
  );
  const imported = await runCli(["import-tasks", file, ...farmArgs()], { cwd: temp.dir });
  expect(imported.code).toBe(0);
});
afterEach(async () => {
  await farm.close();
  await temp.remove();
});

describe("the stitch queue in status, ls, pause and resume", () => {
  it("status shows the stitch waiting for its segments (table and --json); ls finds it", async () => {
    const table = await runCli(["status", ...farmArgs()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/QUEUE\s+WAITING\s+AWAITING DEPS\s+ACTIVE/);
    expect(table.stdout).toMatch(/^model\.t2v\s+2\s+0\s+0/m);
    expect(table.stdout).toMatch(/^stitch\s+0\s+1\s+0/m);

    const json = await runCli(["status", "--json", ...farmArgs()]);
    const queues = (JSON.parse(json.stdout) as { queues: { queue: string; model: string | null }[] }).queues;
    expect(queues.map((queue) => queue.queue)).toEqual(["model.t2v", "stitch", "quarantine"]);
    expect(queues[1]).toMatchObject({ model: null, counts: { waiting_children: 1 } });

    const listed = await runCli(["ls", "--state", "waiting", "--json", ...farmArgs()]);
    expect(listed.code).toBe(0);
    const stitch = (JSON.parse(listed.stdout) as { task_id: string }[]).find((t) => t.task_id === "travel");
    expect(stitch).toMatchObject({ queue: "stitch", state: "waiting-children" });
  });

  it("pause takes the stitch queue with the others, or alone with --queue; resume gives it back", async () => {
    const all = await runCli(["pause", "--json", ...farmArgs()]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual([
      { queue: "model.t2v", model: "t2v", paused: true },
      { queue: "stitch", model: null, paused: true },
    ]);
    const resumed = await runCli(["resume", "--queue", "stitch", ...farmArgs()]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^stitch\s+running$/m);
    expect(await farm.queues.byName("stitch").isPaused()).toBe(false);
    expect(await farm.queues.forModel("t2v").isPaused()).toBe(true);

    const unknown = await runCli(["pause", "--queue", "stitches", ...farmArgs()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no queue 'stitches' (known: model.t2v, stitch)");
  });
});
