import type { SlotStatus } from "@wgp-farm/queue";

/**
 * A slot's status record as a worker publishes it: an idle slot of this process on `test-host`
 * that has run nothing yet, with `extra` fields replaced.
 */
export function testSlotStatus(slotId: string, extra: Partial<SlotStatus> = {}): SlotStatus {
  const now = new Date().toISOString();
  return {
    slot_id: slotId,
    host: "test-host",
    gpu_index: 0,
    gpu_name: "Test GPU",
    worker_name: slotId,
    pid: process.pid,
    state: "idle",
    loaded_model: null,
    current: null,
    jobs_done: 0,
    jobs_failed: 0,
    engine_restarts: 0,
    model_switches: 0,
    busy_ms: 0,
    started_at: now,
    last_error: null,
    updated_at: now,
    ...extra,
  };
}
