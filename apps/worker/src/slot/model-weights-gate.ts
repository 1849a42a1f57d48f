import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import type { EngineSupervisor } from "@wgp-farm/engine";
import { HostLock, HostLockTimeoutError, type LockHolder } from "@wgp-farm/host";

/**
 * The lock `wgp-farm prefetch` holds on a checkout while it downloads weights (apps/cli's
 * DEFAULT_LOCK_NAME): slots take the same one, so they also wait for a prefetch in progress.
 */
export const WEIGHTS_LOCK_NAME = ".wgp-farm-prefetch.lock";

/** WanGP's view of a model's weights on this host: `available`, `partial`, `missing`, or null when unknown. */
async function availabilityOf(engine: EngineSupervisor, model: string): Promise<string | null> {
  try {
    const status = (await engine.describe(model)).availability?.status;
    return typeof status === "string" ? status : null;
  } catch {
    return null; // an engine that cannot describe the model fails the job itself, with its reason
  }
}

/**
 * Fetches a model's weights with one slot per host: when WanGP says a model's weights are not all
 * on disk, the slot loading it (which makes WanGP download them) holds a host lock on the checkout
 * for that job, and the other slots wait, then find the weights there instead of downloading the
 * same files together.
 */
export class ModelWeightsGate {
  readonly #engine: EngineSupervisor;
  readonly #wangpRoot: string | undefined;
  readonly #logger: Logger;
  /** The model of this slot's last engine job: its weights are on disk. */
  #lastModel: string | undefined;

  constructor(engine: EngineSupervisor, wangpRoot: string | undefined, logger: Logger) {
    this.#engine = engine;
    this.#wangpRoot = wangpRoot;
    this.#logger = logger;
  }

  /**
   * Runs `work` (a job that loads `model`), holding the host's weights lock when the weights are
   * missing; waiting for the lock ends (by throwing) when `signal` aborts (a cancel, a drain).
   */
  async around<T>(
    model: string,
    work: () => Promise<T>,
    log: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    const root = this.#wangpRoot;
    if (!root || model === this.#lastModel || (await this.#present(model))) return this.#run(model, work);
    const lock = await this.#acquire(path.join(root, WEIGHTS_LOCK_NAME), model, log, signal);
    try {
      if (await this.#present(model)) {
        await lock.release();
        return await this.#run(model, work);
      }
      log(`weights of ${model} missing on this host: this slot fetches them, the others wait`);
      return await this.#run(model, work);
    } finally {
      await lock.release();
    }
  }

  async #acquire(
    file: string,
    model: string,
    log: (line: string) => void,
    signal: AbortSignal | undefined,
  ): Promise<HostLock> {
    let announced = false;
    const onWait = (holder: LockHolder | undefined) => {
      if (announced) return;
      announced = true;
      const who = holder ? `${holder.purpose} (pid ${holder.pid} on ${holder.host})` : "another process";
      log(`weights of ${model} missing on this host: waiting for ${who}`);
      this.#logger.info({ model, holder }, "waiting for another slot to fetch the model's weights");
    };
    for (;;) {
      signal?.throwIfAborted();
      try {
        // Short waits, so that a stopped job does not wait out another slot's whole download.
        return await HostLock.acquire(file, {
          purpose: `downloading the weights of ${model}`,
          pollMs: 250,
          waitMs: 1_000,
          onWait,
        });
      } catch (error) {
        if (!(error instanceof HostLockTimeoutError)) throw error;
      }
    }
  }

  async #run<T>(model: string, work: () => Promise<T>): Promise<T> {
    const result = await work();
    this.#lastModel = model;
    return result;
  }

  async #present(model: string): Promise<boolean> {
    const status = await availabilityOf(this.#engine, model);
    return status === null || status === "available";
  }
}
