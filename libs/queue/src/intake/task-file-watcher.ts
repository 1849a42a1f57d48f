import { type FSWatcher, watch } from "node:fs";
import { appendFile, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import type { WangpKnowledge } from "@wgp-farm/tasks";
import { emptyImportReport, type ImportReport, type InvalidEntry } from "./import-report.js";
import type { TaskSink } from "./task-importer.js";
import { importTaskSource, openTaskSource } from "./task-source.js";

export interface TaskFileWatcherOptions {
  tasksFile: string;
  sink: TaskSink;
  logger: Logger;
  /** Fallback poll when no file-system event arrives (default 10 s, as headless.py). */
  pollIntervalMs?: number;
  /** Quiet time a claimed file must stay unchanged before it is read (default 250 ms). */
  settleMs?: number;
  /** How long to wait for a claimed file that is still incomplete before keeping it aside (default 15 s). */
  incompleteTimeoutMs?: number;
  mediaRoot?: string;
  strict?: boolean;
  /** What the farm's hosts know, read for each claimed file (default: the built-in catalog). */
  wangp?: () => Promise<WangpKnowledge>;
  /** Called after each claimed file has been imported. */
  onImported?: (report: ImportReport, claimedFile: string) => void;
}

interface RejectedTask {
  entry: InvalidEntry;
  raw: unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Watches a tasks.json that people and scripts keep appending to, and imports what appears without
 * ever rewriting it: the file is claimed by an atomic rename, its tasks are imported (idempotently,
 * by task_id — ids are derived from the content when missing), and the claimed copy is deleted.
 * A writer that read the file before the rename writes it back whole; those tasks are recognised
 * and skipped, the new ones imported. Invalid tasks go to `<file>.rejected.jsonl` with their reasons.
 */
export class TaskFileWatcher {
  readonly tasksFile: string;
  readonly rejectedFile: string;
  private readonly dir: string;
  private readonly base: string;
  private fsWatcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rescan = false;
  private stopped = false;
  private claimCounter = 0;

  constructor(private readonly options: TaskFileWatcherOptions) {
    this.tasksFile = path.resolve(options.tasksFile);
    this.dir = path.dirname(this.tasksFile);
    this.base = path.basename(this.tasksFile);
    this.rejectedFile = `${this.tasksFile}.rejected.jsonl`;
  }

  /** Imports what is there (including copies claimed before a crash), then watches for more. */
  async start(): Promise<void> {
    this.fsWatcher = watch(this.dir, (_event, name) => {
      if (name === null || name === this.base) this.requestScan(50);
    });
    this.fsWatcher.on("error", (error) =>
      this.options.logger.warn({ err: error }, "file watch failed; polling only"),
    );
    this.pollTimer = setInterval(() => this.requestScan(0), this.options.pollIntervalMs ?? 10_000);
    this.requestScan(0);
    await this.idle();
  }

  /** Stops watching; an import under way finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.fsWatcher?.close();
    clearInterval(this.pollTimer);
    clearTimeout(this.debounce);
    await this.running;
  }

  /** Resolves once no scan is running or pending. */
  async idle(): Promise<void> {
    while (this.running || this.debounce) {
      await (this.running ?? sleep(10));
    }
  }

  /** Claims and imports the tasks file now (and any copy left claimed), one scan at a time. */
  requestScan(delayMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.rescan = true;
      return;
    }
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.running = this.scanLoop().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
  }

  private async scanLoop(): Promise<void> {
    do {
      this.rescan = false;
      try {
        for (const claimed of await this.claimedCopies()) await this.importClaimed(claimed);
        const claimed = await this.claim();
        if (claimed) await this.importClaimed(claimed);
      } catch (error) {
        this.options.logger.error(
          { err: error, file: this.tasksFile },
          "could not import the tasks file; will retry",
        );
      }
    } while (this.rescan && !this.stopped);
  }

  private claimPrefix(): string {
    return `.${this.base}.claimed-`;
  }

  /** Copies claimed earlier and not finished (the watcher was stopped or crashed). */
  private async claimedCopies(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names
      .filter((name) => name.startsWith(this.claimPrefix()))
      .map((name) => path.join(this.dir, name))
      .sort();
  }

  private async claim(): Promise<string | undefined> {
    const claimed = path.join(
      this.dir,
      `${this.claimPrefix()}${Date.now()}-${process.pid}-${this.claimCounter++}`,
    );
    try {
      await rename(this.tasksFile, claimed);
      return claimed;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /**
   * A writer that overwrites the file in place may still be writing into the inode just claimed.
   * So: wait until the copy stops changing, import it, and while it still ends mid-task, wait and
   * import it again (tasks already imported are skipped by id). Rejections are written once, at the end.
   */
  private async importClaimed(claimed: string): Promise<void> {
    const deadline = Date.now() + (this.options.incompleteTimeoutMs ?? 15_000);
    const total = emptyImportReport();
    for (;;) {
      await this.waitUntilStable(claimed);
      const rejected: RejectedTask[] = [];
      const report = await importTaskSource(this.options.sink, await openTaskSource(claimed), {
        deriveMissingIds: true,
        sourceName: this.tasksFile,
        ...(this.options.mediaRoot ? { mediaRoot: this.options.mediaRoot } : {}),
        strict: this.options.strict ?? false,
        ...(this.options.wangp ? { wangp: await this.options.wangp() } : {}),
        onInvalid: (entry, raw) => rejected.push({ entry, raw }),
      });
      total.imported.push(...report.imported);
      const incomplete =
        report.file_errors.some((error) => error.truncated) || rejected.some(({ entry }) => entry.truncated);
      if (incomplete && Date.now() < deadline) {
        await sleep(this.options.settleMs ?? 250);
        continue;
      }
      const importedIds = new Set(total.imported.map((entry) => entry.task_id));
      Object.assign(total, {
        skipped: report.skipped.filter((entry) => !importedIds.has(entry.task_id)),
        invalid: report.invalid,
        warnings: report.warnings,
        file_errors: report.file_errors,
      });
      await this.writeRejections(rejected);
      if (incomplete) await this.keepAside(claimed, report);
      else await rm(claimed, { force: true });
      this.logReport(total);
      this.options.onImported?.(total, claimed);
      return;
    }
  }

  private async waitUntilStable(file: string): Promise<void> {
    const settle = this.options.settleMs ?? 250;
    let previous = "";
    for (;;) {
      await sleep(settle);
      const info = await stat(file);
      const signature = `${info.size}:${info.mtimeMs}`;
      if (signature === previous) return;
      previous = signature;
    }
  }

  private async writeRejections(rejected: readonly RejectedTask[]): Promise<void> {
    if (rejected.length === 0) return;
    const at = new Date().toISOString();
    const lines = rejected.map(({ entry, raw }) =>
      JSON.stringify({ rejected_at: at, source: this.tasksFile, ...entry, task: raw ?? null }),
    );
    await appendFile(this.rejectedFile, `${lines.join("\n")}\n`);
    for (const { entry } of rejected) {
      this.options.logger.warn(
        {
          task_id: entry.task_id,
          index: entry.index,
          errors: entry.errors,
          rejected_file: this.rejectedFile,
        },
        `rejected task ${entry.task_id ?? `#${entry.index}`}: ${entry.errors.map((e) => `${e.path ? `${e.path}: ` : ""}${e.message}`).join("; ")}`,
      );
    }
  }

  /** A copy that never became complete JSON is kept next to the tasks file, never deleted. */
  private async keepAside(claimed: string, report: ImportReport): Promise<void> {
    const kept = `${this.tasksFile}.incomplete-${Date.now()}.json`;
    await rename(claimed, kept);
    this.options.logger.error(
      { kept, file_errors: report.file_errors },
      `the tasks file stayed incomplete; its complete tasks were imported and the file was kept as ${kept}`,
    );
  }

  private logReport(report: ImportReport): void {
    // Warnings are not errors, but a misspelt field silently ignored is a task run with defaults.
    for (const entry of report.warnings) {
      for (const warning of entry.warnings) {
        this.options.logger.warn(
          { task_id: entry.task_id, field: warning.path || undefined },
          `task ${entry.task_id ?? `#${entry.index}`}: ${warning.path ? `${warning.path}: ` : ""}${warning.message}`,
        );
      }
    }
    if (report.imported.length + report.skipped.length + report.invalid.length === 0) return;
    this.options.logger.info(
      { imported: report.imported.length, skipped: report.skipped.length, invalid: report.invalid.length },
      `imported ${report.imported.length} new task(s) from ${this.base} (${report.skipped.length} already known, ${report.invalid.length} rejected)`,
    );
  }
}
