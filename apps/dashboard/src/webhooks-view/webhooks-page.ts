import { DELIVERY_ATTEMPT_COLUMNS, type DeliveryAttempt, deliveryAttemptCells } from "@wgp-farm/queue";
import { escapeHtml } from "../auth/login-page.js";

/** A subscription as the page lists it (never its secret). */
export interface ShownSubscription {
  id: string;
  url: string;
  events: readonly string[];
  description: string;
}

export interface WebhooksPageOptions {
  subscriptions: readonly ShownSubscription[];
  /** The subscription whose delivery log is shown, with its attempts (newest first). */
  selected: { id: string; attempts: readonly DeliveryAttempt[] } | undefined;
  readOnly: boolean;
  /** The id a "send again" just queued, to confirm it. */
  sent: string | undefined;
}

export function sendAgainPath(deliveryId: string, subscriptionId: string): string {
  return `/webhooks/api/deliveries/${encodeURIComponent(deliveryId)}/send-again?subscription=${encodeURIComponent(subscriptionId)}`;
}

const DELIVERY_COLUMN_HEADS = DELIVERY_ATTEMPT_COLUMNS.map((column) => `<th>${column}</th>`).join("");

function subscriptionRow(subscription: ShownSubscription, selectedId: string | undefined): string {
  const link = `/webhooks?subscription=${encodeURIComponent(subscription.id)}`;
  const current = subscription.id === selectedId ? ' aria-current="page"' : "";
  return `<tr><td><a href="${escapeHtml(link)}"${current}>${escapeHtml(subscription.id)}</a></td><td>${escapeHtml(subscription.url)}</td><td>${escapeHtml(subscription.events.join(", "))}</td><td>${escapeHtml(subscription.description || "-")}</td></tr>`;
}

/** One attempt; the newest attempt of each delivery carries the "send again" button (when writes are allowed). */
function attemptRow(attempt: DeliveryAttempt, subscriptionId: string, withButton: boolean): string {
  const cells = deliveryAttemptCells(attempt).map((cell) => `<td>${escapeHtml(cell)}</td>`);
  const button = withButton
    ? `<form method="post" action="${escapeHtml(sendAgainPath(attempt.delivery_id, subscriptionId))}"><button type="submit">Send again</button></form>`
    : "";
  return `<tr class="outcome-${escapeHtml(attempt.outcome)}">${cells.join("")}<td>${button}</td></tr>`;
}

function deliveriesSection(
  selected: NonNullable<WebhooksPageOptions["selected"]>,
  readOnly: boolean,
): string {
  if (selected.attempts.length === 0)
    return `<section><h2>Deliveries of ${escapeHtml(selected.id)}</h2><p class="muted">No deliveries yet.</p></section>`;
  const seen = new Set<string>();
  const rows = selected.attempts.map((attempt) => {
    const newest = !seen.has(attempt.delivery_id);
    seen.add(attempt.delivery_id);
    return attemptRow(attempt, selected.id, newest && !readOnly);
  });
  return `<section><h2>Deliveries of ${escapeHtml(selected.id)}</h2>
<table id="deliveries"><thead><tr>${DELIVERY_COLUMN_HEADS}<th></th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table></section>`;
}

/**
 * The webhook page, rendered on the server (no script: the dashboard's CSP allows none inline): the
 * subscriptions, and the chosen one's delivery log as `wgp-farm webhook ls --deliveries` shows it.
 */
export function webhooksPage(options: WebhooksPageOptions): string {
  const { subscriptions, selected, readOnly, sent } = options;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>wgp-farm — webhooks</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body class="farm">
<header>
  <h1>wgp-farm</h1>
  <nav>
    <a href="/farm">Farm</a>
    <a href="/queues">Queues</a>
    <a href="/webhooks" aria-current="page">Webhooks</a>
    <a href="/metrics">Metrics</a>
    <a href="/logout">Log out</a>
  </nav>
  ${readOnly ? '<span class="badge">read-only</span>' : ""}
</header>
<main>
${sent ? `<p class="muted" role="status">Queued again as ${escapeHtml(sent)}.</p>` : ""}
<section>
  <h2>Subscriptions</h2>
  <table id="subscriptions"><thead><tr><th>ID</th><th>URL</th><th>Events</th><th>Description</th></tr></thead>
  <tbody>${subscriptions.map((subscription) => subscriptionRow(subscription, selected?.id)).join("\n")}</tbody></table>
</section>
${selected ? deliveriesSection(selected, readOnly) : '<p class="muted">Choose a subscription to see its delivery log.</p>'}
</main>
</body>
</html>
`;
}
