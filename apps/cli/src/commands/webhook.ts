import {
  type DeliveryAttempt,
  DeliveryLog,
  resolveWebhookTarget,
  sendAgain,
  type WebhookSubscription,
  WebhookSubscriptions,
  webhookQueueOf,
} from "@wgp-farm/api";
import { addOptions, option, switchOption } from "@wgp-farm/config";
import { DELIVERY_ATTEMPT_COLUMNS, deliveryAttemptCells, type FarmConnection } from "@wgp-farm/queue";
import { DEFAULT_WEBHOOK_EVENTS, FARM_EVENT_TYPES } from "@wgp-farm/tasks";
import type { Command } from "commander";
import { z } from "zod";
import { CliError, ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { formatTable, printJson } from "../output/format.js";

const ALLOW_PRIVATE = switchOption({
  flag: "--allow-private-targets",
  env: "WGP_FARM_WEBHOOK_ALLOW_PRIVATE",
  description: "accept a loopback, link-local or private target (the API must allow them too)",
});

const ADD_OPTIONS = {
  event: option({
    flag: "--event",
    takes: "type...",
    description: `events to send: ${FARM_EVENT_TYPES.join(", ")}`,
    schema: z.array(z.enum(FARM_EVENT_TYPES)),
    default: [...DEFAULT_WEBHOOK_EVENTS],
    defaultText: DEFAULT_WEBHOOK_EVENTS.join(" "),
  }),
  description: option({
    flag: "--description",
    takes: "text",
    description: "what the subscription is for (shown by webhook ls)",
    schema: z.string(),
    default: "",
  }),
  allowPrivateTargets: ALLOW_PRIVATE,
  ...FARM_COMMAND_OPTIONS,
};

const LS_OPTIONS = {
  deliveries: option({
    flag: "--deliveries",
    takes: "subscription-id",
    description:
      "show a subscription's latest delivery attempts instead ('task' for the tasks' own webhooks)",
    schema: z.string().min(1),
  }),
  ...FARM_COMMAND_OPTIONS,
};

function formatSubscriptions(subscriptions: readonly WebhookSubscription[]): string {
  if (subscriptions.length === 0) return "No webhook subscriptions.";
  return formatTable(
    ["ID", "URL", "EVENTS", "CREATED", "DESCRIPTION"],
    subscriptions.map((s) => [s.id, s.url, s.events.join(","), s.created_at, s.description || "-"]),
  );
}

function formatDeliveries(attempts: readonly DeliveryAttempt[]): string {
  if (attempts.length === 0) return "No deliveries yet.";
  return formatTable(
    DELIVERY_ATTEMPT_COLUMNS.map((column) => column.toUpperCase()),
    attempts.map(deliveryAttemptCells),
  );
}

const subscriptionsOf = (farm: FarmConnection) => new WebhookSubscriptions(farm.redis, farm.keys);

export function registerWebhook(program: Command): void {
  const webhook = program
    .command("webhook")
    .description("farm-wide webhook subscriptions: signed POSTs of farm events, delivered by `wgp-farm api`");

  const add = webhook
    .command("add")
    .description("subscribe a URL to farm events; prints the signing secret (whsec_…)")
    .argument("<url>", "where events are POSTed (http or https)");
  const readAddOptions = addOptions(add, ADD_OPTIONS);
  add.action(async (url: string) => {
    const settings = readAddOptions();
    await resolveWebhookTarget(url, settings.allowPrivateTargets).catch((error: Error) => {
      throw new CliError(error.message, ExitCode.usage);
    });
    const made = await withFarm(settings, (farm) =>
      subscriptionsOf(farm).add(url, settings.event, settings.description),
    );
    if (settings.json) printJson(made);
    else
      process.stdout.write(
        `${made.id} → ${made.url} (${made.events.join(", ")})\nsigning secret: ${made.secret}\n`,
      );
  });

  const list = webhook.command("ls").description("list subscriptions, or one's delivery log (--deliveries)");
  const readListOptions = addOptions(list, LS_OPTIONS);
  list.action(async () => {
    const settings = readListOptions();
    if (settings.deliveries) {
      const id = settings.deliveries;
      const attempts = await withFarm(settings, (farm) => new DeliveryLog(farm.redis, farm.keys).list(id));
      if (settings.json) printJson(attempts);
      else process.stdout.write(`${formatDeliveries(attempts)}\n`);
      return;
    }
    const subscriptions = await withFarm(settings, (farm) => subscriptionsOf(farm).list());
    if (settings.json) printJson(subscriptions.map(({ secret: _secret, ...shown }) => shown));
    else process.stdout.write(`${formatSubscriptions(subscriptions)}\n`);
  });

  const remove = webhook
    .command("rm")
    .description("remove a subscription (its pending deliveries are dropped)")
    .argument("<id>", "the subscription's id (webhook ls)");
  const readRemoveOptions = addOptions(remove, FARM_COMMAND_OPTIONS);
  remove.action(async (id: string) => {
    const settings = readRemoveOptions();
    const known = await withFarm(settings, (farm) => subscriptionsOf(farm).remove(id));
    if (!known) throw new CliError(`unknown subscription '${id}' (see wgp-farm webhook ls)`, ExitCode.failed);
    if (settings.json) printJson({ id, removed: true });
    else process.stdout.write(`removed      ${id}\n`);
  });

  const secret = webhook
    .command("task-secret")
    .description("print the secret that signs the tasks' own webhooks (made on first use)");
  const readSecretOptions = addOptions(secret, FARM_COMMAND_OPTIONS);
  secret.action(async () => {
    const settings = readSecretOptions();
    const value = await withFarm(settings, (farm) => subscriptionsOf(farm).taskSecret());
    if (settings.json) printJson({ secret: value });
    else process.stdout.write(`${value}\n`);
  });

  const again = webhook
    .command("send-again")
    .description("deliver an event again (a dead-lettered one, or any recent one), with fresh retries")
    .argument("<delivery-id>", "the delivery's id (webhook ls --deliveries)");
  const readAgainOptions = addOptions(again, FARM_COMMAND_OPTIONS);
  again.action(async (deliveryId: string) => {
    const settings = readAgainOptions();
    const id = await withFarm(settings, async (farm) => {
      const queue = webhookQueueOf(farm);
      try {
        return await sendAgain(queue, deliveryId);
      } finally {
        await queue.close();
      }
    });
    if (!id)
      throw new CliError(`unknown delivery '${deliveryId}' (see webhook ls --deliveries)`, ExitCode.failed);
    if (settings.json) printJson({ delivery_id: id });
    else process.stdout.write(`queued again as ${id}\n`);
  });
}
