import { type FarmConnection, type FarmEvent, FarmEvents, SlotRegistry } from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";
import { sharedReadsOf } from "../reads/shared-reads.js";
import { buildGpuTimeline, type GpuTimeline } from "./gpu-timeline.js";

/** The windows the page offers, in hours. */
export const TIMELINE_HOURS = [1, 6, 24] as const;
/** Events read before the window, so that an attempt already running at its start is known. */
const LOOKBACK_MS = 60 * 60_000;
const PAGE = 5_000;

/** The farm events from `since` (ms) on, oldest first, read in pages. */
export async function readEventsSince(farm: FarmConnection, since: number): Promise<FarmEvent[]> {
  const events = FarmEvents.of(farm);
  const all: FarmEvent[] = [];
  let after = `${Math.max(0, since - 1)}-18446744073709551615`;
  for (;;) {
    const page = await events.after(after, PAGE);
    all.push(...page);
    const last = page.at(-1);
    if (!last || page.length < PAGE) return all;
    after = last.id;
  }
}

export function hoursOf(value: unknown): number {
  const hours = Number(value);
  return (TIMELINE_HOURS as readonly number[]).includes(hours) ? hours : 1;
}

/** The GPU timeline of the last `hours`, up to now (one read for the viewers who ask at the same time). */
export function readGpuTimeline(farm: FarmConnection, hours: number): Promise<GpuTimeline> {
  return sharedReadsOf(farm).read(`timeline:${hours}`, async () => {
    const to = Date.now();
    const from = to - hours * 3_600_000;
    const [events, slots] = await Promise.all([
      readEventsSince(farm, from - LOOKBACK_MS),
      new SlotRegistry(farm.redis, farm.keys).list(),
    ]);
    const liveSlots = new Map(slots.map((slot) => [slot.slot_id, slot.host]));
    return buildGpuTimeline(events, { from, to, liveSlots });
  });
}

/** GET /farm/api/timeline?hours=1|6|24: one row per GPU slot and the split of GPU time. */
export function timelineRoutes(farm: FarmConnection): Router {
  const router = Router();
  router.get("/farm/api/timeline", async (req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").json(await readGpuTimeline(farm, hoursOf(req.query.hours)));
  });
  return router;
}
