import type { Logger } from "@wgp-farm/config";
import { type FarmConnection, findTask, type SlotStatus } from "@wgp-farm/queue";

const FINAL_STATES = new Set(["completed", "failed", "quarantined", "cancelled"]);
const PROGRESS_EVERY_MS = 5_000;

interface SlotView {
  taskId: string | null;
  phase: string | null;
  printedAt: number;
}

/**
 * Prints, per task, what the one-machine farm does with it: started on which GPU, progress now and
 * then, and how it ended (the output folder, or the error). Tasks are followed from the moment they
 * are queued, so none finishes unreported however short it is.
 */
export class TaskOutcomePrinter {
  private readonly pending = new Set<string>();
  private readonly slots = new Map<string, SlotView>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly farm: FarmConnection,
    private readonly statuses: () => SlotStatus[],
    private readonly logger: Logger,
    private readonly onFinished: (taskId: string, state: string) => void = () => {},
  ) {}

  follow(taskIds: Iterable<string>): void {
    for (const id of taskIds) this.pending.add(id);
  }

  get unfinished(): number {
    return this.pending.size;
  }

  start(intervalMs = 1_000): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.poll();
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.printSlots();
      for (const taskId of [...this.pending]) await this.checkTask(taskId);
    } catch (error) {
      this.logger.debug({ err: error }, "progress poll failed");
    } finally {
      this.polling = false;
    }
  }

  private printSlots(): void {
    const now = Date.now();
    for (const status of this.statuses()) {
      const view = this.slots.get(status.slot_id) ?? { taskId: null, phase: null, printedAt: 0 };
      const current = status.current;
      const progress = current?.progress;
      if (current && current.task_id !== view.taskId) {
        this.logger.info(
          { slot: status.slot_id, task_id: current.task_id },
          `${status.slot_id}: started ${current.task_id}`,
        );
        Object.assign(view, { taskId: current.task_id, phase: null, printedAt: now });
      } else if (
        current &&
        progress &&
        (progress.phase !== view.phase || now - view.printedAt >= PROGRESS_EVERY_MS)
      ) {
        const steps =
          progress.step !== null && progress.total !== null ? ` ${progress.step}/${progress.total}` : "";
        const eta = progress.eta_s !== null ? `, about ${Math.round(progress.eta_s)} s left` : "";
        this.logger.info(
          { slot: status.slot_id, task_id: current.task_id, progress },
          `${status.slot_id}: ${current.task_id} ${progress.phase}${steps} (${progress.percent ?? 0}%${eta})`,
        );
        Object.assign(view, { phase: progress.phase, printedAt: now });
      } else if (!current) {
        view.taskId = null;
      }
      this.slots.set(status.slot_id, view);
    }
  }

  private async checkTask(taskId: string): Promise<void> {
    const details = await findTask(this.farm, taskId, { logLines: 0 });
    if (!details || !FINAL_STATES.has(details.state)) return;
    this.pending.delete(taskId);
    if (details.state === "completed") {
      this.logger.info(
        { task_id: taskId, output_dir: details.output_dir },
        `${taskId}: completed → ${details.output_dir}`,
      );
    } else {
      const reason = details.errors.at(-1)?.message ?? details.state;
      this.logger.warn(
        { task_id: taskId, state: details.state, errors: details.errors },
        `${taskId}: ${details.state}: ${reason}`,
      );
    }
    this.onFinished(taskId, details.state);
  }
}
