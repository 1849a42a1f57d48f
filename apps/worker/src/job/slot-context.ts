import type { Logger } from "@wgp-farm/config";
import type { CancelChannel, FarmConnection, FarmStats, SlotRegistry } from "@wgp-farm/queue";
import type { OutputPublisher } from "../output/output-publisher.js";
import type { JobScheduler } from "../scheduling/job-scheduler.js";
import type { WakeSignal } from "../scheduling/wake-signal.js";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import type { AttemptHistory } from "./attempt-history.js";
import type { CausVidLora } from "./causvid-lora.js";
import type { Quarantine } from "./quarantine.js";

/** What every slot of a worker process shares. */
export interface SlotContext {
  options: ResolvedWorkerOptions;
  farm: FarmConnection;
  registry: SlotRegistry;
  stats: FarmStats;
  cancels: CancelChannel;
  history: AttemptHistory;
  quarantine: Quarantine;
  scheduler: JobScheduler;
  wake: WakeSignal;
  /** The model types that have a queue, as last seen. */
  models(): readonly string[];
  publisher: OutputPublisher;
  /** Absent for the dry-run engine, which never reads LoRA files. */
  causvid: CausVidLora | undefined;
  logger: Logger;
}

/** Why a running job is stopped before it ends on its own. */
export type StopReason =
  | { kind: "cancel"; reason: string | null }
  | { kind: "requeue"; why: string }
  | { kind: "lock-lost"; why: string }
  /** A check that runs alongside the engine failed: the job fails as that error says. */
  | { kind: "invalid"; error: unknown };
