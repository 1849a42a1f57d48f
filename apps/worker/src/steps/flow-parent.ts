import { type FarmConnection, modelOfQueue } from "@wgp-farm/queue";
import type { Job } from "bullmq";

/**
 * A flow's parent (the next post-step) becomes waiting when its last child completes, which no work
 * signal announces: announcing it wakes the slots now rather than at their next idle re-read. The
 * stitch queue needs nothing: its workers block on it.
 */
export async function announceFlowParent(farm: FarmConnection, job: Job): Promise<void> {
  const parent = job.parent;
  if (!parent?.id) return;
  const model = modelOfQueue(parent.queueKey.slice(farm.keys.prefix.length + 1));
  if (model === undefined) return;
  await farm.work.announce([model], "add", [parent.id]);
}
