import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { FarmConnection } from "@wgp-farm/queue";
import { type MediaServer, startMediaServer, temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

let prefix: string;
let farm: FarmConnection;
let work: { dir: string; remove: () => Promise<void> };
let server: MediaServer;

beforeEach(async () => {
  prefix = uniquePrefix("cli-urls");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  work = await temporaryDir("cli-urls");
  server = await startMediaServer();
});
afterEach(async () => {
  await server.close();
  await farm.close();
  await work.remove();
});

const redisArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

describe("wgp-farm import-tasks with media URLs", () => {
  it("asks about each URL: a missing or too large input is invalid with task, field and URL; http:// needs the switch", async () => {
    server.serve("/ok.mp4", { body: randomBytes(1000) });
    server.serve("/big.mp4", { body: randomBytes(3 * 1024 * 1024) });
    const tasks = [
      { task_id: "ok", prompt: "p", model: "vace_14B", video_guide_path: `${server.origin}/ok.mp4` },
      {
        task_id: "missing",
        prompt: "p",
        model: "vace_14B",
        video_guide_path: `${server.origin}/nope.mp4?sig=SECRET`,
      },
      { task_id: "big", prompt: "p", model: "vace_14B", video_guide_path: `${server.origin}/big.mp4` },
    ];
    const file = path.join(work.dir, "tasks.jsonl");
    await writeFile(file, tasks.map((task) => JSON.stringify(task)).join("\n"));

    const refused = await runCli(["import-tasks", file, ...redisArgs(), "--json"]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).invalid).toHaveLength(3);
    expect(refused.stdout).toContain("--allow-http-media");

    const run = await runCli([
      ...["import-tasks", file, ...redisArgs(), "--json", "--allow-http-media"],
      ...["--max-input-size", String(2 / 1024)],
    ]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.imported.map((entry: { task_id: string }) => entry.task_id)).toEqual(["ok"]);
    expect(report.invalid).toMatchObject([
      {
        task_id: "missing",
        errors: [
          { path: "video_guide_path", message: `${server.origin}/nope.mp4?sig=… answered 404 Not Found` },
        ],
      },
      {
        task_id: "big",
        errors: [
          {
            path: "video_guide_path",
            message: "video_guide_path is 3 MiB, over the input size limit of 2 MiB (--max-input-size)",
          },
        ],
      },
    ]);
    expect(`${run.stdout}${run.stderr}`).not.toContain("SECRET");
    expect(await farm.queues.forModel("vace_14B").getJob("ok")).toBeDefined();
  });
});
