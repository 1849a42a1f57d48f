import { setTimeout as sleep } from "node:timers/promises";
import { bestEffort, type Logger } from "@wgp-farm/config";
import { type DashboardCredentials, type RunningDashboard, startDashboard } from "@wgp-farm/dashboard";
import {
  FarmConnection,
  type ImportReport,
  importTaskSource,
  openTaskSource,
  RedisTaskSink,
  type RetryPolicy,
  readFarmWangpKnowledge,
  redisStepMs,
  settleWithin,
  TaskFileWatcher,
} from "@wgp-farm/queue";
import type { FarmWorkerHandle, FarmWorkerOptions } from "@wgp-farm/worker";
import { startWorkerOrExplain } from "../worker-settings.js";
import { type LocalRedis, startLocalRedis } from "./local-redis.js";
import { TaskOutcomePrinter } from "./task-outcome-printer.js";

export interface LocalFarmOptions {
  /** An existing Redis; absent: a private redis-server with AOF in `redisDataDir`. */
  redisUrl?: string | undefined;
  redisDataDir: string;
  prefix: string;
  worker: Omit<FarmWorkerOptions, "redisUrl" | "prefix" | "logger">;
  retry: RetryPolicy;
  mediaRoot?: string | undefined;
  strict?: boolean;
  /** Watch this tasks file (headless); absent: tasks come from `importFile` (demo). */
  tasksFile?: string | undefined;
  pollIntervalMs?: number;
  /** Serve the dashboard on 127.0.0.1; credentials undefined: from the environment. */
  dashboard?: { port: number; credentials: DashboardCredentials | null | undefined } | undefined;
  logger: Logger;
}

const ACTIVE_JOB_TYPES = ["active", "wait", "prioritized", "delayed"] as const;

/**
 * The whole farm on one machine (`headless`, `demo`): Redis, a worker with a slot per GPU, the
 * watcher of the tasks file, optionally the dashboard, and a console report per task.
 */
export class LocalFarm {
  private constructor(
    readonly redis: LocalRedis,
    readonly farm: FarmConnection,
    readonly worker: FarmWorkerHandle,
    private readonly printer: TaskOutcomePrinter,
    private readonly sink: RedisTaskSink,
    private readonly options: LocalFarmOptions,
    readonly watcher: TaskFileWatcher | undefined,
    readonly dashboard: RunningDashboard | undefined,
  ) {}

  static async start(options: LocalFarmOptions): Promise<LocalFarm> {
    const { logger } = options;
    const redis = await startLocalRedis(options.redisDataDir, options.redisUrl);
    const cleanups: (() => Promise<void>)[] = [() => redis.stop()];
    try {
      const farm = await FarmConnection.open(redis.url, options.prefix, { role: "service", logger });
      cleanups.unshift(() => farm.close());
      const worker = await startWorkerOrExplain({
        ...options.worker,
        redisUrl: redis.url,
        prefix: options.prefix,
        logger,
      });
      cleanups.unshift(() => worker.stop());
      const printer = new TaskOutcomePrinter(farm, () => worker.statuses(), logger);
      printer.follow(await queuedTaskIds(farm));
      printer.start();
      const sink = new RedisTaskSink(farm, options.retry);
      const dashboard = options.dashboard
        ? await startDashboard({
            redisUrl: redis.url,
            prefix: options.prefix,
            port: options.dashboard.port,
            credentials: options.dashboard.credentials,
            mainOutputDir: options.worker.mainOutputDir,
            logger,
          })
        : undefined;
      if (dashboard) cleanups.unshift(() => dashboard.close());
      const watcher = options.tasksFile
        ? new TaskFileWatcher({
            tasksFile: options.tasksFile,
            sink,
            logger,
            ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
            ...(options.mediaRoot ? { mediaRoot: options.mediaRoot } : {}),
            strict: options.strict ?? false,
            wangp: () => readFarmWangpKnowledge(farm),
            onImported: (report) => printer.follow(report.imported.map((entry) => entry.task_id)),
          })
        : undefined;
      const local = new LocalFarm(redis, farm, worker, printer, sink, options, watcher, dashboard);
      await watcher?.start();
      return local;
    } catch (error) {
      for (const cleanup of cleanups)
        await bestEffort(cleanup, logger, "cleaning up a farm that did not start", "warn");
      throw error;
    }
  }

  /** Imports a task list (the demo's example tasks) and follows its tasks. */
  async importFile(file: string): Promise<ImportReport> {
    const report = await importTaskSource(this.sink, await openTaskSource(file), {
      ...(this.options.mediaRoot ? { mediaRoot: this.options.mediaRoot } : {}),
      strict: this.options.strict ?? false,
    });
    this.printer.follow(report.imported.map((entry) => entry.task_id));
    return report;
  }

  /** Resolves once every followed task has ended (completed, failed, quarantined or cancelled). */
  async waitUntilIdle(pollMs = 500): Promise<void> {
    while (this.printer.unfinished > 0) await sleep(pollMs);
  }

  /**
   * Ctrl+C: stop taking tasks in, let running jobs finish for up to `drainTimeoutMs` (then they go
   * back to their queue, not failed), stop the engines, the dashboard and the private Redis.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    await this.watcher?.stop();
    await this.worker.drain(drainTimeoutMs);
    // The steps that talk to Redis are bounded: with Redis gone they would wait for a reconnect forever.
    const redisStep = (work: Promise<unknown>) => settleWithin(work, redisStepMs(this.farm.redis));
    await redisStep(this.printer.stop());
    await redisStep(this.dashboard?.close() ?? Promise.resolve());
    if (!(await redisStep(this.farm.close()))) this.farm.redis.disconnect();
    await this.redis.stop();
  }
}

/** Tasks left queued by an earlier run: they resume, and the console follows them too. */
async function queuedTaskIds(farm: FarmConnection): Promise<string[]> {
  const ids: string[] = [];
  for (const model of await farm.queues.knownModels()) {
    const jobs = await farm.queues.forModel(model).getJobs([...ACTIVE_JOB_TYPES], 0, -1);
    for (const job of jobs) if (job.id) ids.push(job.id);
  }
  return ids;
}
