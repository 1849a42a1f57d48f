import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import {
  isMediaUrl,
  MEDIA_TASK_FIELDS,
  type MediaUrl,
  parseMediaUrl,
  type TaskIssue,
  WANGP_MEDIA_KEYS,
} from "@wgp-farm/tasks";
import type { ImportReport } from "./import-report.js";
import { type ImportOptions, type PendingTask, recordInvalid } from "./task-importer.js";
import {
  InputNotThereError,
  type InputProbe,
  InputUnreachableError,
  type ProbedInput,
} from "./url-check-probes.js";

export const DEFAULT_MAX_INPUT_BYTES = 4 * 1024 ** 3;

export interface UrlCheckOptions {
  /** Who asks about each URL scheme (`s3` only with S3 settings; a scheme without a probe is not checked). */
  probes: Partial<Record<MediaUrl["scheme"], InputProbe>>;
  /** An input larger than this is refused (default 4 GiB). */
  maxInputBytes?: number;
  /** URLs asked about at once (default 8). */
  concurrency?: number;
  /** Tries per URL when the store cannot be reached (default 3), waiting `backoffMs` then twice that… */
  attempts?: number;
  backoffMs?: number;
  /** Each question's time limit (default 15 s). */
  timeoutMs?: number;
  logger?: Logger;
}

/** What the check found about one URL. */
type Verdict =
  | { kind: "ok"; size: number | undefined }
  | { kind: "not-there"; why: string }
  | { kind: "unreachable"; why: string };

/** A media URL in a task: the field it is in and what it names. */
interface TaskUrl {
  field: string;
  media: MediaUrl;
}

const MEDIA_FIELDS: readonly string[] = [...new Set([...MEDIA_TASK_FIELDS, ...WANGP_MEDIA_KEYS])];

function urlsOf(task: Record<string, unknown>): TaskUrl[] {
  const urls: TaskUrl[] = [];
  const add = (field: string, value: unknown) => {
    if (typeof value !== "string" || !isMediaUrl(value)) return;
    // The validator accepted it (http:// only where allowed), so it parses.
    const media = parseMediaUrl(value, { allowHttp: true });
    if (!("problem" in media)) urls.push({ field, media });
  };
  for (const field of MEDIA_FIELDS) {
    const value = task[field];
    if (Array.isArray(value)) for (const [index, item] of value.entries()) add(`${field}[${index}]`, item);
    else add(field, value);
  }
  return urls;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
function sizeText(bytes: number): string {
  if (bytes >= GIB) return `${Number((bytes / GIB).toFixed(2))} GiB`;
  if (bytes >= MIB) return `${Number((bytes / MIB).toFixed(1))} MiB`;
  return `${bytes} bytes`;
}

/** Runs `work` on every item, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runner = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
}

/**
 * Asks the stores about the media URLs of imported tasks before they are queued: an input that
 * is not there (404, 403, no such key) or is larger than the limit makes its task invalid, naming
 * the field and the URL; a store that cannot be reached is asked again a few times, and then the
 * task goes in with a warning (its worker fetches the input anyway, and fails it if need be).
 * URLs are asked about once per batch, a few at a time; they appear redacted in every message.
 */
export class UrlCheck {
  readonly #options: Required<Omit<UrlCheckOptions, "logger">> & Pick<UrlCheckOptions, "logger">;

  constructor(options: UrlCheckOptions) {
    this.#options = {
      maxInputBytes: DEFAULT_MAX_INPUT_BYTES,
      concurrency: 8,
      attempts: 3,
      backoffMs: 500,
      timeoutMs: 15_000,
      ...options,
    };
  }

  /** The tasks of the batch that pass; the others are recorded invalid, warnings are added. */
  async filter(
    batch: readonly PendingTask[],
    report: ImportReport,
    options: ImportOptions,
  ): Promise<PendingTask[]> {
    const found = batch.map((pending) => urlsOf(pending.task));
    const distinct = [...new Set(found.flat().map(({ media }) => media.url))];
    if (distinct.length === 0) return [...batch];
    const byUrl = new Map<string, Verdict>();
    const schemeOf = new Map(found.flat().map(({ media }) => [media.url, media] as const));
    await eachLimited(distinct, this.#options.concurrency, async (url) => {
      byUrl.set(url, await this.#verdict(schemeOf.get(url) as MediaUrl));
    });
    const passed: PendingTask[] = [];
    for (const [position, pending] of batch.entries()) {
      const errors: TaskIssue[] = [];
      const warnings: TaskIssue[] = [];
      for (const { field, media } of found[position] ?? []) {
        const issue = this.#issueOf(field, byUrl.get(media.url));
        if (issue) (issue.error ? errors : warnings).push({ path: field, message: issue.message });
      }
      if (warnings.length > 0) this.#warn(report, pending, warnings);
      if (errors.length === 0) {
        passed.push(pending);
        continue;
      }
      const entry = { index: pending.index, task_id: pending.task.task_id, line: pending.line, errors };
      recordInvalid(report, options, entry, pending.raw);
    }
    return passed;
  }

  #issueOf(field: string, verdict: Verdict | undefined): { error: boolean; message: string } | undefined {
    if (!verdict) return undefined;
    if (verdict.kind === "not-there") return { error: true, message: verdict.why };
    if (verdict.kind === "unreachable") {
      return {
        error: false,
        message: `not checked: ${verdict.why} (the worker fetches it when the task runs)`,
      };
    }
    const limit = this.#options.maxInputBytes;
    if (verdict.size !== undefined && verdict.size > limit) {
      return {
        error: true,
        message: `${field} is ${sizeText(verdict.size)}, over the input size limit of ${sizeText(limit)} (--max-input-size)`,
      };
    }
    return undefined;
  }

  /** The task's warnings: in the report, and with the job (its import info). */
  #warn(report: ImportReport, pending: PendingTask, warnings: TaskIssue[]): void {
    pending.info.warnings.push(...warnings);
    const entry = report.warnings.find((existing) => existing.index === pending.index);
    if (entry) entry.warnings.push(...warnings);
    else report.warnings.push({ index: pending.index, task_id: pending.task.task_id, warnings });
  }

  async #verdict(media: MediaUrl): Promise<Verdict> {
    const probe = this.#options.probes[media.scheme];
    if (!probe) return { kind: "ok", size: undefined };
    const { attempts, backoffMs, timeoutMs, logger } = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        const found: ProbedInput = await probe.probe(media, AbortSignal.timeout(timeoutMs));
        return { kind: "ok", size: found.size };
      } catch (error) {
        if (error instanceof InputNotThereError) return { kind: "not-there", why: error.message };
        const why = error instanceof InputUnreachableError ? error.message : String(error);
        if (attempt >= attempts) return { kind: "unreachable", why: `${why} (${attempts} tries)` };
        logger?.debug({ why, attempt }, "asking about an input again");
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
  }
}
