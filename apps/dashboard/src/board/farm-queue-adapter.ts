import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import type { JobCleanStatus, ObliterateOptions, QueueAdapterOptions } from "@bull-board/api/typings/app";
import {
  ALL_JOB_TYPES,
  type FarmConnection,
  type RemovedTask,
  removeQueueJobs,
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
 * farm's own removal, which keeps the task index and the output folder index consistent.
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
