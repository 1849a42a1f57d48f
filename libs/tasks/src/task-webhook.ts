import { z } from "zod";

/**
 * What the farm tells watchers about a task, in the order a task lives them; then what a GPU slot
 * tells about its engine (`engine_restart`: restarting, recycling, ready again, given up).
 */
export const FARM_EVENT_TYPES = [
  "queued",
  "started",
  "phase",
  "progress",
  "requeued",
  "completed",
  "failed",
  "cancelled",
  "quarantined",
  "engine_restart",
] as const;
export type FarmEventType = (typeof FARM_EVENT_TYPES)[number];

/** The events a webhook gets when it names none: how the task ended, and its start. */
export const DEFAULT_WEBHOOK_EVENTS: readonly FarmEventType[] = [
  "started",
  "completed",
  "failed",
  "cancelled",
  "quarantined",
];

/** A task's own webhook: where its events are POSTed (signed with the farm's task-webhook secret). */
export const TaskWebhookSchema = z
  .strictObject(
    {
      url: z
        .url({ protocol: /^https?$/, error: "must be an http(s) URL such as 'https://example.com/hook'" })
        .max(2048, "must be at most 2048 characters"),
      events: z
        .array(z.enum(FARM_EVENT_TYPES, { error: `must be one of: ${FARM_EVENT_TYPES.join(", ")}` }))
        .min(1, "must name at least one event")
        .optional(),
    },
    { error: "must be {url, events?}" },
  )
  .meta({
    description: "POST this task's events (signed, Standard Webhooks) to `url`; `events` filters them.",
  });

export type TaskWebhook = z.output<typeof TaskWebhookSchema>;
