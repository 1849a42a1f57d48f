import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { readTaskRecords, TaskValidator, type WangpKnowledge } from "@wgp-farm/tasks";
import { TaskSourceError } from "../errors.js";
import type { ImportReport } from "./import-report.js";
import { type ImportOptions, TaskImporter, type TaskSink } from "./task-importer.js";

/** A task list to import: a file, or stdin (`-`). */
export interface TaskSource {
  stream: AsyncIterable<Buffer>;
  /** Bytes, when known (files), for progress. */
  size?: number;
  /** Where relative media paths resolve by default: the file's folder, or the current folder for stdin. */
  baseDir: string;
  /** Recorded with every job: the absolute path, or `-`. */
  name: string;
}

export async function openTaskSource(file: string): Promise<TaskSource> {
  if (file === "-") return { stream: process.stdin, baseDir: process.cwd(), name: "-" };
  const absolute = path.resolve(file);
  let size: number;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new TaskSourceError(`${file} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof TaskSourceError) throw error;
    throw new TaskSourceError(
      `cannot read tasks file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  return { stream: createReadStream(absolute), size, baseDir: path.dirname(absolute), name: absolute };
}

export interface SourceImportOptions extends Omit<ImportOptions, "source"> {
  /** Overrides the source's folder for relative media paths (--media-root). */
  mediaRoot?: string;
  strict?: boolean;
  /** Tasks without task_id get one derived from their content (the watcher). */
  deriveMissingIds?: boolean;
  /** Called with the bytes read so far (progress). */
  onBytes?: (bytes: number) => void;
  /** The name recorded as the jobs' source, when it is not the file's path (a claimed copy). */
  sourceName?: string;
  /** What the farm's hosts know, to check models and settings against (default: the built-in catalog). */
  wangp?: WangpKnowledge;
  /** Media URLs may be plain http:// (a private network). */
  allowHttpMedia?: boolean;
}

async function* countingBytes(source: AsyncIterable<Buffer>, onBytes?: (total: number) => void) {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    onBytes?.(total);
    yield chunk;
  }
}

/** Reads, validates and imports a whole task source into a sink; every task ends up in the report. */
export async function importTaskSource(
  sink: TaskSink,
  source: TaskSource,
  options: SourceImportOptions,
): Promise<ImportReport> {
  const validator = new TaskValidator({
    mediaRoot: options.mediaRoot ? path.resolve(options.mediaRoot) : source.baseDir,
    strict: options.strict ?? false,
    deriveMissingIds: options.deriveMissingIds ?? false,
    ...(options.wangp ? { wangp: options.wangp } : {}),
    ...(options.allowHttpMedia ? { allowHttpMedia: true } : {}),
  });
  const records = readTaskRecords(countingBytes(source.stream, options.onBytes));
  return new TaskImporter(sink).import(records, validator, {
    ...options,
    source: options.sourceName ?? source.name,
  });
}
