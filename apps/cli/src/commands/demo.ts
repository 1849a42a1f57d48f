import path from "node:path";
import { DEFAULT_PREFIX, FarmConnection, RedisServerProcess } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, settingsOf } from "../cli-options.js";
import { formatTable } from "../output/format.js";
import { formatImportReport } from "../output/import-report.js";
import { EXAMPLE_TASKS_FILE, WORKSPACE_ROOT } from "../paths.js";
import { importTaskFile } from "./import-tasks.js";

const DemoSettings = z.object({
  tasksFile: z.string().default(EXAMPLE_TASKS_FILE),
  dataDir: z.string().default(path.join(WORKSPACE_ROOT, ".wgp-farm", "demo")),
  redisUrl: z.string().optional(),
});

/**
 * The README's "run the main job" command on embedded defaults: a private Redis (AOF, in the data
 * folder), the example tasks imported into their model queues, and what was queued.
 */
export function registerDemo(program: Command): void {
  const command = program
    .command("demo")
    .description(
      "run the farm on this machine on its embedded defaults: a private Redis and the example tasks",
    );
  const specs = addOptions(command, [
    { flags: "--tasks-file <file>", description: "tasks to import", defaultText: "examples/tasks.json" },
    { flags: "--data-dir <dir>", description: "folder for the private Redis", defaultText: ".wgp-farm/demo" },
    { flags: "--redis-url <url>", description: "use this Redis instead of a private one", env: "REDIS_URL" },
  ]);
  command.action(async () => {
    const settings = settingsOf(DemoSettings, specs, command);
    const redisServer = settings.redisUrl
      ? undefined
      : await RedisServerProcess.start({ dataDir: path.join(settings.dataDir, "redis"), persistence: "aof" });
    const redisUrl = settings.redisUrl ?? (redisServer as RedisServerProcess).url;
    try {
      process.stdout.write(
        `Redis: ${redisServer ? `private redis-server at ${redisUrl} (data in ${settings.dataDir})` : redisUrl}\n`,
      );
      const report = await importTaskFile(settings.tasksFile, {
        redisUrl,
        prefix: DEFAULT_PREFIX,
        strict: false,
        rerun: false,
        dryRun: false,
        json: false,
        attempts: 3,
        backoffMs: 15_000,
      });
      process.stdout.write(
        `${formatImportReport(report, { dryRun: false, source: settings.tasksFile })}\n\n`,
      );
      const farm = await FarmConnection.open(redisUrl, DEFAULT_PREFIX);
      try {
        const rows: string[][] = [];
        for (const model of await farm.queues.knownModels()) {
          const queue = farm.queues.forModel(model);
          const counts = await queue.getJobCounts("waiting", "prioritized", "active", "completed", "failed");
          const jobs = await queue.getJobs(["waiting", "prioritized"], 0, 20, true);
          rows.push([
            queue.name,
            String((counts.waiting ?? 0) + (counts.prioritized ?? 0)),
            String(counts.active ?? 0),
            String(counts.completed ?? 0),
            String(counts.failed ?? 0),
            jobs.map((job) => job.id).join(", "),
          ]);
        }
        process.stdout.write(
          `${formatTable(["queue", "waiting", "active", "completed", "failed", "tasks"], rows)}\n`,
        );
      } finally {
        await farm.close();
      }
    } finally {
      await redisServer?.stop();
    }
  });
}
