import { type FarmStatus, QUEUE_COUNT_STATES, slotBusyRatio } from "@wgp-farm/queue";
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { TimingHistograms } from "./completed-job-timings.js";
import { MirroredCounter } from "./mirrored-counter.js";

const TASK_OUTCOMES = ["completed", "failed", "cancelled", "quarantined", "retried"] as const;

const WAIT_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21_600, 86_400];
const LOAD_BUCKETS_S = [1, 5, 10, 20, 30, 60, 120, 300, 600, 1200];
const GENERATION_BUCKETS_S = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400];

/** The dashboard's Prometheus metrics, in a registry of its own (several dashboards may share a process). */
export class FarmMetrics {
  readonly registry = new Registry();
  readonly timings: TimingHistograms;
  private readonly queueJobs: Gauge<"queue" | "model" | "state">;
  private readonly queuePaused: Gauge<"queue" | "model">;
  private readonly oldestWait: Gauge<"queue" | "model">;
  private readonly modelReady: Gauge<"model">;
  private readonly modelOldestReady: Gauge<"model">;
  private readonly modelServing: Gauge<"model">;
  private readonly slotBusy: Gauge<"slot" | "host" | "gpu">;
  private readonly slotModel: Gauge<"slot" | "host" | "gpu" | "model" | "state">;
  private readonly tasks: MirroredCounter<"outcome">;
  private readonly modelSwitches: MirroredCounter<never>;
  private readonly engineRestarts: MirroredCounter<never>;
  private readonly lostAttempts: MirroredCounter<never>;
  private readonly wastedGpuSeconds: MirroredCounter<never>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "wgp_farm_dashboard_" });
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });
    this.queueJobs = gauge("wgp_farm_queue_jobs", "Jobs in each queue, by state", [
      "queue",
      "model",
      "state",
    ]);
    this.queuePaused = gauge("wgp_farm_queue_paused", "1 when the queue is paused", ["queue", "model"]);
    this.oldestWait = gauge(
      "wgp_farm_queue_oldest_wait_seconds",
      "How long the oldest job ready to run has been waiting (0 when none waits)",
      ["queue", "model"],
    );
    // Autoscaler signals (infra/keda): per model, what could start now, its oldest wait, who serves it.
    this.modelReady = gauge(
      "wgp_farm_model_ready_tasks",
      "Tasks of each model that could start now (waiting, prioritized, and delayed ones whose time has come)",
      ["model"],
    );
    this.modelOldestReady = gauge(
      "wgp_farm_model_oldest_ready_wait_seconds",
      "How long the oldest task of each model that could start now has waited",
      ["model"],
    );
    this.modelServing = gauge(
      "wgp_farm_model_serving_slots",
      "Live GPU slots holding each model (loaded or loading)",
      ["model"],
    );
    this.slotBusy = gauge(
      "wgp_farm_slot_busy_ratio",
      "Share of its life each GPU slot spent running jobs (0-1)",
      ["slot", "host", "gpu"],
    );
    this.slotModel = gauge(
      "wgp_farm_slot_info",
      "1 for each live GPU slot, with its loaded model and state",
      ["slot", "host", "gpu", "model", "state"],
    );
    this.tasks = new MirroredCounter(
      this.registry,
      "wgp_farm_tasks_total",
      "Tasks that ended (completed, failed, cancelled, quarantined) or were retried, farm-wide",
      ["outcome"],
    );
    this.modelSwitches = new MirroredCounter(
      this.registry,
      "wgp_farm_model_switches_total",
      "Model loads that replaced another model on a GPU, farm-wide",
    );
    this.engineRestarts = new MirroredCounter(
      this.registry,
      "wgp_farm_engine_restarts_total",
      "WanGP engine restarts (crash, hang, OOM), farm-wide",
    );
    this.lostAttempts = new MirroredCounter(
      this.registry,
      "wgp_farm_lost_attempts_total",
      "Attempts that lost their job to another attempt (a frozen or cut-off host) and published nothing",
    );
    this.wastedGpuSeconds = new MirroredCounter(
      this.registry,
      "wgp_farm_wasted_gpu_seconds_total",
      "GPU time spent by attempts that lost their job, farm-wide",
    );
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, labelNames: ["model"] as const, registers });
    this.timings = {
      queueWait: histogram(
        "wgp_farm_task_queue_wait_seconds",
        "Time completed tasks waited in their queue before a GPU took them",
        WAIT_BUCKETS_S,
      ),
      modelLoad: histogram(
        "wgp_farm_task_model_load_seconds",
        "Model load time of completed tasks that had to load their model",
        LOAD_BUCKETS_S,
      ),
      generation: histogram(
        "wgp_farm_task_generation_seconds",
        "Generation time of completed tasks",
        GENERATION_BUCKETS_S,
      ),
    };
  }

  /** Sets every gauge and mirrored counter from one reading of the farm. */
  update(status: FarmStatus, now = Date.now()): void {
    this.queueJobs.reset();
    this.queuePaused.reset();
    this.oldestWait.reset();
    for (const queue of status.queues) {
      const model = queue.model ?? "";
      for (const state of QUEUE_COUNT_STATES) {
        this.queueJobs.set({ queue: queue.queue, model, state }, queue.counts[state]);
      }
      this.queuePaused.set({ queue: queue.queue, model }, queue.paused ? 1 : 0);
      this.oldestWait.set({ queue: queue.queue, model }, queue.oldest_wait_s ?? 0);
    }
    this.modelReady.reset();
    this.modelOldestReady.reset();
    this.modelServing.reset();
    for (const demand of status.demand) {
      this.modelReady.set({ model: demand.model }, demand.ready);
      this.modelOldestReady.set({ model: demand.model }, demand.oldest_wait_s ?? 0);
      this.modelServing.set({ model: demand.model }, demand.serving_slots);
    }
    // Slots come and go: gauges of slots that left must disappear, not keep their last value.
    this.slotBusy.reset();
    this.slotModel.reset();
    for (const slot of status.slots) {
      const labels = { slot: slot.slot_id, host: slot.host, gpu: slot.gpu_name ?? String(slot.gpu_index) };
      this.slotBusy.set(labels, slotBusyRatio(slot, now));
      this.slotModel.set({ ...labels, model: slot.loaded_model ?? "", state: slot.state }, 1);
    }
    for (const outcome of TASK_OUTCOMES) this.tasks.set(status.counters[outcome], { outcome });
    this.modelSwitches.set(status.counters.model_switches);
    this.engineRestarts.set(status.counters.engine_restarts);
    this.lostAttempts.set(status.counters.lost_attempts);
    this.wastedGpuSeconds.set(status.counters.wasted_gpu_ms / 1000);
  }
}
