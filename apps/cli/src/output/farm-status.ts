import { type FarmStatus, formatDuration, slotBusyRatio } from "@wgp-farm/queue";
import { formatTable, plural } from "./format.js";
import { formatHostWangp } from "./host-wangp.js";

function percentText(percent: number | null | undefined): string {
  return typeof percent === "number" ? `${Math.round(percent)}%` : "";
}

function secondsSince(iso: string, now: number): number {
  return (now - Date.parse(iso)) / 1000;
}

/** `wgp-farm status`: the slots, then the queues, then the farm-wide counters. */
export function formatFarmStatus(status: FarmStatus): string {
  const now = Date.parse(status.generated_at);
  const sections: string[] = [];
  if (status.slots.length === 0) {
    sections.push("Slots: none running (start `wgp-farm worker` on a GPU host)");
  } else {
    const rows = status.slots.map((slot) => {
      const progress = slot.current?.progress ?? null;
      const step =
        progress?.step != null && progress.total != null ? ` ${progress.step}/${progress.total}` : "";
      const window =
        progress?.windows !== undefined && progress.windows > 1
          ? ` window ${progress.window}/${progress.windows}`
          : "";
      return [
        slot.slot_id,
        slot.gpu_name ?? "",
        slot.state,
        slot.loaded_model ?? "-",
        slot.current?.task_id ?? "-",
        progress ? `${progress.phase}${step}${window} ${percentText(progress.percent)}`.trim() : "",
        progress?.eta_s != null ? formatDuration(progress.eta_s) : "",
        String(slot.jobs_done),
        String(slot.jobs_failed),
        String(slot.engine_restarts),
        `${Math.round(slotBusyRatio(slot, now) * 100)}%`,
        `${formatDuration(secondsSince(slot.updated_at, now))} ago`,
      ];
    });
    sections.push(
      `Slots (${status.slots.length})\n${formatTable(
        [
          "SLOT",
          "GPU",
          "STATE",
          "MODEL",
          "TASK",
          "PROGRESS",
          "ETA",
          "DONE",
          "FAILED",
          "RESTARTS",
          "BUSY",
          "SEEN",
        ],
        rows,
      )}`,
    );
  }
  sections.push(...formatHostWangp(status));
  const unknown = new Set(status.models_without_host);
  const queueRows = status.queues.map((queue) => [
    queue.queue,
    String(queue.queued),
    String(queue.counts.waiting_children),
    String(queue.counts.active),
    String(queue.counts.delayed),
    String(queue.counts.failed),
    String(queue.counts.completed),
    queue.oldest_wait_s === null ? "-" : formatDuration(queue.oldest_wait_s),
    [queue.paused ? "paused" : "", queue.model !== null && unknown.has(queue.model) ? "no host knows it" : ""]
      .filter(Boolean)
      .join(", "),
  ]);
  sections.push(
    `Queues\n${formatTable(["QUEUE", "WAITING", "AWAITING DEPS", "ACTIVE", "DELAYED", "FAILED", "COMPLETED", "OLDEST WAIT", ""], queueRows)}`,
  );
  const { counters } = status;
  sections.push(
    `Totals: ${plural(counters.completed, "task")} completed, ${counters.failed} failed, ${counters.cancelled} cancelled, ` +
      `${counters.quarantined} quarantined, ${counters.retried} retried; ` +
      `${plural(counters.model_switches, "model switch", "model switches")}, ${plural(counters.engine_restarts, "engine restart")}`,
  );
  return sections.join("\n\n");
}
