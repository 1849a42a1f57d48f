import type { Logger } from "@wgp-farm/config";
import type { ProgressMessage } from "@wgp-farm/engine";
import type { JobProgress } from "@wgp-farm/queue";
import type { Job } from "bullmq";

export interface JobProgressOptions {
  slotId: string;
  /** Log lines kept per attempt; further lines are counted and announced once. */
  maxLogLines: number;
  /** Least time between two progress writes to Redis (a phase change is written at once). */
  minIntervalMs?: number;
  logger: Logger;
  /** The slot mirrors progress into its published status. */
  onProgress?(progress: JobProgress): void;
}

/**
 * A job's progress and log as Bull Board and `wgp-farm status` show them: `job.updateProgress`
 * with `{phase, step, total, percent, eta_s, slot}` (throttled; a phase change goes out at once) and
 * `job.log` lines, bounded per attempt. Writes are not awaited by the engine's message loop (`flush`
 * waits for them); a failed write (the job was taken away) is only logged.
 */
export class JobProgressReporter {
  #current: JobProgress;
  #sentAt = 0;
  #trailing: NodeJS.Timeout | undefined;
  #logLines = 0;
  #droppedLines = 0;
  #stepClock: { phase: string; step: number; at: number } | undefined;
  readonly #pending = new Set<Promise<unknown>>();

  readonly #job: Job;
  readonly #options: JobProgressOptions;

  constructor(job: Job, options: JobProgressOptions) {
    this.#job = job;
    this.#options = options;
    this.#current = {
      phase: "queued",
      step: null,
      total: null,
      percent: null,
      eta_s: null,
      slot: options.slotId,
    };
  }

  get current(): JobProgress {
    return this.#current;
  }

  /** A phase of the worker's own (preparing, downloading_lora, publishing). */
  phase(phase: string): void {
    const { window, windows } = this.#current;
    this.#update(
      {
        phase,
        step: null,
        total: null,
        percent: this.#current.percent,
        eta_s: null,
        ...(window !== undefined && windows !== undefined ? { window, windows } : {}),
      },
      true,
    );
  }

  engineProgress(message: ProgressMessage): void {
    const phaseChanged = message.phase !== this.#current.phase;
    this.#update(
      {
        phase: message.phase,
        step: message.step,
        total: message.total,
        percent: message.percent,
        // The engine's ETA covers the whole job (every window); the step-rate one only this phase.
        eta_s: message.eta_s !== undefined ? message.eta_s : this.#eta(message),
        ...(message.window !== undefined && message.windows !== undefined
          ? { window: message.window, windows: message.windows }
          : {}),
      },
      phaseChanged,
    );
  }

  log(line: string): void {
    if (this.#logLines >= this.#options.maxLogLines) {
      this.#droppedLines += 1;
      return;
    }
    this.#logLines += 1;
    this.#write(() => this.#job.log(line));
  }

  /** Sends what is pending and waits for every write so far. */
  async flush(): Promise<void> {
    if (this.#trailing) {
      clearTimeout(this.#trailing);
      this.#trailing = undefined;
      this.#send();
    }
    if (this.#droppedLines > 0) {
      const dropped = this.#droppedLines;
      this.#droppedLines = 0;
      this.#write(() =>
        this.#job.log(`… ${dropped} more log lines dropped (limit ${this.#options.maxLogLines} per attempt)`),
      );
    }
    await Promise.all(this.#pending);
  }

  #update(fields: Omit<JobProgress, "slot">, immediate: boolean): void {
    this.#current = { ...fields, slot: this.#options.slotId };
    this.#options.onProgress?.(this.#current);
    const interval = this.#options.minIntervalMs ?? 500;
    const wait = this.#sentAt + interval - Date.now();
    if (immediate || wait <= 0) {
      clearTimeout(this.#trailing);
      this.#trailing = undefined;
      this.#send();
    } else {
      this.#trailing ??= setTimeout(() => {
        this.#trailing = undefined;
        this.#send();
      }, wait);
    }
  }

  #send(): void {
    this.#sentAt = Date.now();
    const progress = this.#current;
    this.#write(() => this.#job.updateProgress(progress));
  }

  /**
   * Writes go out at once: they share one Redis connection, which keeps their order, so chaining
   * them would only add a round trip per line.
   */
  #write(operation: () => Promise<unknown>): void {
    const write = operation().catch((error: unknown) => {
      this.#options.logger.debug({ err: error, task_id: this.#job.id }, "progress or log write failed");
    });
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  /** Seconds left in a step phase, from the rate since the phase's first step. */
  #eta(message: ProgressMessage): number | null {
    const { phase, step, total } = message;
    if (step === null || total === null) return null;
    const now = Date.now();
    if (!this.#stepClock || this.#stepClock.phase !== phase || step < this.#stepClock.step) {
      this.#stepClock = { phase, step, at: now };
      return null;
    }
    const done = step - this.#stepClock.step;
    if (done <= 0) return this.#current.eta_s;
    const perStep = (now - this.#stepClock.at) / 1000 / done;
    return Math.max(0, Math.round(perStep * (total - step) * 10) / 10);
  }
}
