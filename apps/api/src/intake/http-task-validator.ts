import { type TaskIssue, TaskValidator, type TaskVerdict, type WangpKnowledge } from "@wgp-farm/tasks";
import { resolveWebhookTarget, WebhookTargetError } from "../webhooks/private-targets.js";
import type { MediaReferences } from "./media-references.js";

/**
 * The importer's validator, strict (an unknown field is an error over HTTP: nobody reads warnings of
 * a request that succeeded), with media references resolved and confined first. Its errors join the
 * validator's, per field, in the importer's report. A task's own webhook must resolve to an address
 * the API may call (not loopback, link-local or private, unless the operator allows them).
 */
export class HttpTaskValidator extends TaskValidator {
  readonly #media: MediaReferences;
  readonly #allowPrivateTargets: boolean;

  constructor(
    media: MediaReferences,
    inputsDir: string,
    allowPrivateTargets: boolean,
    wangp: WangpKnowledge,
  ) {
    super({ mediaRoot: inputsDir, strict: true, wangp });
    this.#media = media;
    this.#allowPrivateTargets = allowPrivateTargets;
  }

  override async validate(raw: unknown): Promise<TaskVerdict> {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return super.validate(raw);
    const { task, errors } = await this.#media.resolve(raw as Record<string, unknown>);
    const verdict = await super.validate(task);
    if (verdict.ok && verdict.task.webhook)
      errors.push(...(await this.#webhookIssues(verdict.task.webhook.url)));
    if (errors.length === 0) return verdict;
    return {
      ok: false,
      taskId: verdict.ok ? verdict.task.task_id : verdict.taskId,
      errors: [...errors, ...(verdict.ok ? [] : verdict.errors)],
      warnings: verdict.warnings,
    };
  }

  async #webhookIssues(url: string): Promise<TaskIssue[]> {
    try {
      await resolveWebhookTarget(url, this.#allowPrivateTargets);
      return [];
    } catch (error) {
      if (!(error instanceof WebhookTargetError)) throw error;
      return [{ path: "webhook.url", message: error.message }];
    }
  }
}
