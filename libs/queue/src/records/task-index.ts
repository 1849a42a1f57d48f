import type { Redis } from "ioredis";
import type { FarmKeys } from "./farm-keys.js";
import { FORGET_TASKS_SCRIPT } from "./scripts/forget-tasks.js";

/** A task whose job was removed, as the indexes know it. */
export interface RemovedTask {
  task_id: string;
  /** The task's output folder (relative to the main output dir), when known. */
  output_sub_dir?: string | undefined;
}

type ForgetCommand = (...args: string[]) => Promise<number>;

const FORGET_BATCH = 500;

/**
 * BullMQ's job key cut around its two variable parts (queue name, job id), for a script that builds
 * the key of a queue it reads from Redis: the layout still comes from BullMQ, not from this code.
 */
function jobKeyParts(keys: FarmKeys): [string, string, string] {
  const queueMark = "\u0000queue\u0000";
  const idMark = "\u0000id\u0000";
  const key = keys.jobKey(queueMark, idMark);
  const queueAt = key.indexOf(queueMark);
  const idAt = key.indexOf(idMark, queueAt + queueMark.length);
  return [
    key.slice(0, queueAt),
    key.slice(queueAt + queueMark.length, idAt),
    key.slice(idAt + idMark.length),
  ];
}

/** The farm's task index (task_id → queue) and output folder index, read and kept consistent. */
export class TaskIndex {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
  ) {
    if (!("wgpForgetTasks" in redis)) {
      redis.defineCommand("wgpForgetTasks", { numberOfKeys: 2, lua: FORGET_TASKS_SCRIPT });
    }
  }

  /** The queue a task was imported into, or null for an id the farm never saw. */
  async queueOf(taskId: string): Promise<string | null> {
    return this.redis.hget(this.keys.taskIndex, taskId);
  }

  /** Drops the index entries of tasks whose jobs are gone. Returns how many ids were forgotten. */
  async forget(tasks: readonly RemovedTask[]): Promise<number> {
    const forget = (this.redis as unknown as { wgpForgetTasks: ForgetCommand }).wgpForgetTasks.bind(
      this.redis,
    );
    const keyParts = jobKeyParts(this.keys);
    let forgotten = 0;
    for (let start = 0; start < tasks.length; start += FORGET_BATCH) {
      const args = tasks
        .slice(start, start + FORGET_BATCH)
        .flatMap((task) => [task.task_id, task.output_sub_dir ?? ""]);
      forgotten += await forget(this.keys.taskIndex, this.keys.outputDirs, ...keyParts, ...args);
    }
    return forgotten;
  }
}
