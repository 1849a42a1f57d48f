import type { FarmEvent } from "@wgp-farm/queue";

/** What a GPU slot spent a stretch of time on. */
export type SegmentKind = "loading" | "generating" | "idle" | "restart" | "failed" | "lost" | "cancelled";

export interface TimelineSegment {
  kind: SegmentKind;
  start: number;
  end: number;
  task_id?: string;
  model?: string;
  /** A restart's cause, as the slot recorded it (`engine died, restarted`, `recycled (memory)`). */
  detail?: string;
}

export interface TimelineRow {
  slot: string;
  host: string | null;
  segments: TimelineSegment[];
}

/** Milliseconds of GPU time in the window, all slots together. */
export interface TimeSplit {
  generating: number;
  loading: number;
  idle: number;
  /** Failed, lost and cancelled attempts and engine restarts: GPU time that made nothing. */
  wasted: number;
}

export interface GpuTimeline {
  from: number;
  to: number;
  rows: TimelineRow[];
  split: TimeSplit;
  models: string[];
}

export interface TimelineWindow {
  from: number;
  to: number;
  /** Slots running now (slot id → host): their row reaches the window's end, idle since their last event. */
  liveSlots: ReadonlyMap<string, string>;
}

/**
 * The engine's own failures: the slot restarts its engine after them. Only read from slots that
 * record no `engine_restart` events (workers from before them): their restart lasts until the next start.
 */
const ENGINE_FAILURE = /^(engine crashed|hung|engine hung)/i;
const WASTED: ReadonlySet<SegmentKind> = new Set(["failed", "lost", "cancelled", "restart"]);

interface OpenAttempt {
  task_id: string;
  model: string;
  /** Segments of this attempt so far; they turn failed/lost/cancelled when it ends so. */
  segments: TimelineSegment[];
  kind: SegmentKind;
  since: number;
}

interface PendingRestart {
  since: number;
  detail: string;
}

/** How a restart began, in words for the segment's tip. */
function restartDetail(event: FarmEvent): string {
  if (event.type === "failed") return String(event.data.error ?? "engine failure").split(":")[0] as string;
  if (event.data.step === "recycling") return `recycled (${String(event.data.reason ?? "due")})`;
  return "engine died, restarted";
}

/** Replays one slot's events into segments (unclipped; the caller clips to the window). */
class SlotReplay {
  readonly segments: TimelineSegment[] = [];
  #open: OpenAttempt | undefined;
  #restart: PendingRestart | undefined;
  /** The slot records its engine's restarts itself: its failures start none. */
  #recordsRestarts = false;

  apply(event: FarmEvent, at: number): void {
    switch (event.type) {
      case "started":
        this.#endRestart(at);
        // A new attempt while one is open: the open one lost its job without a word (a killed host).
        if (this.#open) this.#close(at, "lost");
        this.#open = {
          task_id: event.task_id,
          model: event.model,
          segments: [],
          kind: "generating",
          since: at,
        };
        break;
      case "phase": {
        const open = this.#open;
        if (!open || open.task_id !== event.task_id) break;
        const kind: SegmentKind = event.data.phase === "loading_model" ? "loading" : "generating";
        if (kind === open.kind) break;
        this.#cut(open, at);
        open.kind = kind;
        break;
      }
      case "completed":
      case "requeued":
        if (this.#open?.task_id === event.task_id) this.#close(at, null);
        break;
      case "failed":
        if (this.#open?.task_id !== event.task_id) break;
        this.#close(at, "failed");
        if (!this.#recordsRestarts && ENGINE_FAILURE.test(String(event.data.error ?? "")))
          this.#restart ??= { since: at, detail: restartDetail(event) };
        break;
      case "cancelled":
      case "quarantined":
        if (this.#open?.task_id === event.task_id) this.#close(at, "cancelled");
        break;
      case "engine_restart":
        this.#engineRestart(event, at);
        break;
      default:
        break;
    }
  }

  #engineRestart(event: FarmEvent, at: number): void {
    this.#recordsRestarts = true;
    switch (event.data.step) {
      case "restarting":
      case "recycling":
        // Further start attempts belong to the restart already under way.
        this.#restart ??= { since: at, detail: restartDetail(event) };
        break;
      case "ready":
        this.#endRestart(at);
        break;
      case "gave_up":
        if (this.#restart) this.#restart.detail += ", then given up";
        this.#endRestart(at);
        break;
      default:
        break;
    }
  }

  /** The window ends: an attempt still open goes on (a live slot) or was lost (a slot gone). */
  finish(to: number, live: boolean): void {
    this.#endRestart(to);
    if (this.#open) this.#close(to, live ? null : "lost");
  }

  #endRestart(at: number): void {
    const restart = this.#restart;
    if (!restart) return;
    if (at > restart.since)
      this.segments.push({ kind: "restart", start: restart.since, end: at, detail: restart.detail });
    this.#restart = undefined;
  }

  #cut(open: OpenAttempt, at: number): void {
    if (at > open.since) {
      open.segments.push({
        kind: open.kind,
        start: open.since,
        end: at,
        task_id: open.task_id,
        model: open.model,
      });
    }
    open.since = at;
  }

  #close(at: number, endedAs: SegmentKind | null): void {
    const open = this.#open as OpenAttempt;
    this.#cut(open, at);
    // The engine died under this attempt, which ends a little later: the restart follows it.
    if (this.#restart && this.#restart.since < at) this.#restart.since = at;
    for (const segment of open.segments)
      this.segments.push(endedAs ? { ...segment, kind: endedAs } : segment);
    this.#open = undefined;
  }
}

function clip(segments: readonly TimelineSegment[], from: number, to: number): TimelineSegment[] {
  return segments
    .filter((segment) => segment.end > from && segment.start < to)
    .map((segment) => ({ ...segment, start: Math.max(segment.start, from), end: Math.min(segment.end, to) }));
}

/** The stretches of a row's span that no segment covers: the slot was idle. */
function idleGaps(segments: readonly TimelineSegment[], start: number, end: number): TimelineSegment[] {
  const gaps: TimelineSegment[] = [];
  let at = start;
  for (const segment of [...segments].sort((a, b) => a.start - b.start)) {
    if (segment.start > at) gaps.push({ kind: "idle", start: at, end: segment.start });
    at = Math.max(at, segment.end);
  }
  if (end > at) gaps.push({ kind: "idle", start: at, end });
  return gaps;
}

/**
 * One row per GPU slot over the window, from the farm event log: model loading, generating (by
 * model), idle, engine restarts, failed, lost and cancelled attempts, and the split of GPU time.
 * `events` may start before the window (so that an attempt running at its start is known), oldest first.
 */
export function buildGpuTimeline(events: readonly FarmEvent[], window: TimelineWindow): GpuTimeline {
  const { from, to } = window;
  const replays = new Map<string, { host: string | null; replay: SlotReplay; first: number; last: number }>();
  for (const event of events) {
    if (!event.slot) continue;
    const at = Date.parse(event.at);
    if (Number.isNaN(at) || at > to) continue;
    let slot = replays.get(event.slot);
    if (!slot) {
      slot = { host: event.host, replay: new SlotReplay(), first: at, last: at };
      replays.set(event.slot, slot);
    }
    slot.last = at;
    slot.replay.apply(event, at);
  }
  for (const [slotId, host] of window.liveSlots) {
    // A slot with nothing in the log (yet): idle for the whole window.
    if (!replays.has(slotId))
      replays.set(slotId, { host, replay: new SlotReplay(), first: from, last: from });
  }
  const split: TimeSplit = { generating: 0, loading: 0, idle: 0, wasted: 0 };
  const models = new Set<string>();
  const rows: TimelineRow[] = [];
  for (const [slotId, slot] of [...replays].sort(([a], [b]) => a.localeCompare(b))) {
    const live = window.liveSlots.has(slotId);
    slot.replay.finish(live ? to : slot.last, live);
    const worked = clip(slot.replay.segments, from, to);
    const spanStart = Math.max(from, slot.first);
    const spanEnd = live ? to : Math.min(to, slot.last);
    const segments = [...worked, ...idleGaps(worked, spanStart, spanEnd)].sort((a, b) => a.start - b.start);
    if (segments.length === 0) continue;
    for (const segment of segments) {
      const length = segment.end - segment.start;
      if (segment.kind === "generating") split.generating += length;
      else if (segment.kind === "loading") split.loading += length;
      else if (segment.kind === "idle") split.idle += length;
      else if (WASTED.has(segment.kind)) split.wasted += length;
      if (segment.model) models.add(segment.model);
    }
    rows.push({ slot: slotId, host: slot.host, segments });
  }
  return { from, to, rows, split, models: [...models].sort() };
}
