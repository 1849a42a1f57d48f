import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import type { JobCleanStatus, ObliterateOptions, QueueAdapterOptions } from "@bull-board/api/typings/app";
import {
  ALL_JOB_TYPES,
  type FarmConnection,
  modelOfQueue,
  type RemovedTask,
  removeQueueJobs,
  setQueuesPaused,
  TaskIndex,
} from "@wgp-farm/queue";
import type { JobType } from "bullmq";

const CLEAN_TYPES: Record<JobCleanStatus, JobType[]> = {
  completed: ["completed"],
  failed: ["failed"],
  wait: ["wait", "prioritized"],
  delayed: ["delayed"],
  active: ["active"],
};

/**
 * Bull Board's BullMQ adapter, with its bulk removals (clean, empty, obliterate) routed through the
 * farm's own removal, which keeps the task index and the output folder index consistent, and the
 * pause and resume of a model queue through the farm's own, as `wgp-farm pause`/`resume` do.
 */
export class FarmQueueAdapter extends BullMQAdapter {
  constructor(
    private readonly farm: FarmConnection,
    readonly queueName: string,
    options: Partial<QueueAdapterOptions>,
  ) {
    super(farm.queues.byName(queueName), options);
  }

  override async clean(status: JobCleanStatus, graceTimeMs: number): Promise<void> {
    await removeQueueJobs(this.farm, this.queueName, {
      types: CLEAN_TYPES[status],
      olderThanMs: graceTimeMs,
    });
  }

  override async empty(): Promise<void> {
    await removeQueueJobs(this.farm, this.queueName, { types: CLEAN_TYPES.wait, olderThanMs: 0 });
  }

  // A resume through the farm announces one arrival per waiting task, so that idle slots take the
  // work at once; BullMQ's own resume wakes no one, and slots would find it at their idle recheck.
  override async resume(): Promise<void> {
    const model = modelOfQueue(this.queueName);
    if (model === undefined) await super.resume();
    else await setQueuesPaused(this.farm, false, { models: [model] });
  }

  override async pause(): Promise<void> {
    const model = modelOfQueue(this.queueName);
    if (model === undefined) await super.pause();
    else await setQueuesPaused(this.farm, true, { models: [model] });
  }

  override async obliterate(options?: ObliterateOptions): Promise<void> {
    const queue = this.farm.queues.byName(this.queueName);
    const jobs = await queue.getJobs(ALL_JOB_TYPES, 0, -1);
    const tasks = jobs.map(
      (job): RemovedTask => ({ task_id: String(job.id), output_sub_dir: job.data?.task?.output_sub_dir }),
    );
    await super.obliterate(options);
    await new TaskIndex(this.farm.redis, this.farm.keys).forget(tasks);
  }
}
