import { type FarmConnection, readFarmStatus, slotBusyRatio } from "@wgp-farm/queue";
import { sharedReadsOf } from "../reads/shared-reads.js";

export interface FarmStatusViewOptions {
  readOnly: boolean;
  /** The Bull Board page of a queue, for links. */
  boardUrlOf: (queueName: string) => string;
}

/**
 * The farm status as the farm page draws it: each slot's busy share, each queue's board link, and
 * who looks. The farm's part is read once for the viewers who ask at the same time.
 */
export async function readFarmStatusView(
  farm: FarmConnection,
  { readOnly, boardUrlOf }: FarmStatusViewOptions,
  user: string | null,
) {
  const view = await sharedReadsOf(farm).read("status", async () => {
    const now = Date.now();
    const status = await readFarmStatus(farm, now);
    return {
      ...status,
      slots: status.slots.map((slot) => ({ ...slot, busy_ratio: slotBusyRatio(slot, now) })),
      queues: status.queues.map((queue) => ({ ...queue, board_url: boardUrlOf(queue.queue) })),
      read_only: readOnly,
    };
  });
  return { ...view, user };
}
