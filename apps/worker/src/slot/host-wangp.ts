import { bestEffort, type Logger } from "@wgp-farm/config";
import type { ReadyMessage } from "@wgp-farm/engine";
import { type HostCatalog, type HostCatalogs, postStepKindOf } from "@wgp-farm/queue";
import type { SlotPlan } from "../gpu-detection.js";

/** The model types a slot may take: those its engine's WanGP knows (all of them without a catalog: dry-run, older bridges). */
export function modelsThisWangpKnows(models: readonly string[], ready: ReadyMessage | undefined): string[] {
  const known = ready?.wangp?.catalog?.model_types;
  if (!known) return [...models];
  const knownSet = new Set(known);
  // Post-steps (`post.<kind>`) are WanGP's own late post-processing calls, not models it lists.
  return models.filter((model) => knownSet.has(model) || postStepKindOf(model) !== undefined);
}

/** The host record of what the engine's WanGP knows; undefined when the engine reported no catalog. */
export function hostCatalogOf(plan: SlotPlan, ready: ReadyMessage): HostCatalog | undefined {
  const wangp = ready.wangp;
  const catalog = wangp?.catalog;
  if (!wangp || !catalog) return undefined;
  const preflight = wangp.preflight;
  return {
    host: plan.host,
    wangp_root: wangp.root,
    version: catalog.version,
    mmgp_version: catalog.mmgp_version,
    settings_version: catalog.settings_version,
    model_types: catalog.model_types,
    setting_names: catalog.setting_names,
    media_keys: catalog.media_keys,
    preflight: preflight
      ? {
          ok: preflight.ok,
          problems: preflight.checks
            .filter((check) => check.status === "warn" || check.status === "fail")
            .map((check) => `${check.name}: ${check.message}`),
        }
      : null,
    slot_id: plan.slotId,
    updated_at: new Date().toISOString(),
  };
}

/**
 * Publishes the host's WanGP catalog once the slot's engine is ready, and again on every heartbeat
 * (the record has a TTL, like the slot status), so the importer, `status` and the dashboard see
 * what each live host knows.
 */
export class HostWangpPublisher {
  readonly #catalogs: HostCatalogs;
  readonly #plan: SlotPlan;
  readonly #logger: Logger;
  #record: HostCatalog | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(catalogs: HostCatalogs, plan: SlotPlan, logger: Logger) {
    this.#catalogs = catalogs;
    this.#plan = plan;
    this.#logger = logger;
  }

  /** The engine (re)started: publish what it reported, and keep it fresh. */
  engineReady(ready: ReadyMessage): void {
    this.#record = hostCatalogOf(this.#plan, ready);
    if (!this.#record) return;
    this.#publish();
    this.#timer ??= setInterval(() => this.#publish(), Math.max(1_000, this.#catalogs.ttlMs / 3));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #publish(): void {
    const record = this.#record;
    if (!record) return;
    void bestEffort(
      this.#catalogs.publish({ ...record, updated_at: new Date().toISOString() }),
      this.#logger,
      "publishing the host's WanGP catalog",
    );
  }
}
