import { type FarmConnection, readFarmStatus, slotBusyRatio } from "@wgp-farm/queue";

export interface FarmStatusViewOptions {
  readOnly: boolean;
  /** The Bull Board page of a queue, for links. */
  boardUrlOf: (queueName: string) => string;
}

/** The farm status as the farm page draws it: each slot's busy share, each queue's board link, who looks. */
export async function readFarmStatusView(
  farm: FarmConnection,
  { readOnly, boardUrlOf }: FarmStatusViewOptions,
  user: string | null,
) {
  const now = Date.now();
  const status = await readFarmStatus(farm, now);
  return {
    ...status,
    slots: status.slots.map((slot) => ({ ...slot, busy_ratio: slotBusyRatio(slot, now) })),
    queues: status.queues.map((queue) => ({ ...queue, board_url: boardUrlOf(queue.queue) })),
    read_only: readOnly,
    user,
  };
}
