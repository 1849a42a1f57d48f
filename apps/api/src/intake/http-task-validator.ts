import { TaskValidator, type TaskVerdict } from "@wgp-farm/tasks";
import type { MediaReferences } from "./media-references.js";

/**
 * The importer's validator, strict (an unknown field is an error over HTTP: nobody reads warnings of
 * a request that succeeded), with media references resolved and confined first. Its errors join the
 * validator's, per field, in the importer's report.
 */
export class HttpTaskValidator extends TaskValidator {
  readonly #media: MediaReferences;

  constructor(media: MediaReferences, inputsDir: string) {
    super({ mediaRoot: inputsDir, strict: true });
    this.#media = media;
  }

  override async validate(raw: unknown): Promise<TaskVerdict> {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return super.validate(raw);
    const { task, errors } = await this.#media.resolve(raw as Record<string, unknown>);
    const verdict = await super.validate(task);
    if (errors.length === 0) return verdict;
    return {
      ok: false,
      taskId: verdict.ok ? verdict.task.task_id : verdict.taskId,
      errors: [...errors, ...(verdict.ok ? [] : verdict.errors)],
      warnings: verdict.warnings,
    };
  }
}
