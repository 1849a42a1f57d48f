// The farm view: draws the slots, queues, hosts and counters from the page's first view, then polls
// /farm/api/status and redraws. Every value from the farm goes in with textContent, never as HTML:
// prompts and error messages are written by whoever submits tasks.
import { duration, element, getJson, redrawKeepingFocus, showThenPoll, whenSeen } from "./farm-dom.js";

const REFRESH_MS = 3000;

function link(href, text) {
  const anchor = element("a", text);
  anchor.href = href;
  return anchor;
}

function cell(...children) {
  const node = element("td");
  node.append(...children);
  return node;
}

function ago(iso, now) {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? "—" : `${duration((now - at) / 1000)} ago`;
}

function progressCell(progress) {
  const cell = element("td");
  if (!progress) return cell;
  const percent = typeof progress.percent === "number" ? progress.percent : 0;
  const bar = element("progress");
  bar.max = 100;
  bar.value = percent;
  const steps =
    progress.step !== null && progress.total !== null ? ` ${progress.step}/${progress.total}` : "";
  const window = progress.windows > 1 ? ` · window ${progress.window}/${progress.windows}` : "";
  cell.append(bar, element("span", `${progress.phase}${steps}${window} · ${Math.round(percent)}%`, "muted"));
  return cell;
}

async function cancel(taskId, button) {
  if (!window.confirm(`Cancel task ${taskId}?`)) return;
  button.disabled = true;
  const response = await fetch(`/farm/api/tasks/${encodeURIComponent(taskId)}/cancel`, { method: "POST" });
  const body = await response.json().catch(() => ({}));
  button.textContent = response.ok ? body.outcome : `error ${response.status}`;
}

function slotRow(slot, status, now) {
  const row = element("tr");
  row.dataset.slot = slot.slot_id;
  const current = slot.current;
  const queue = current ? status.queues.find((q) => q.queue === current.queue) : undefined;
  const taskCell = cell();
  if (current) {
    taskCell.append(
      queue
        ? link(`${queue.board_url}/${encodeURIComponent(current.task_id)}`, current.task_id)
        : current.task_id,
    );
  }
  const actions = cell();
  if (current && !status.read_only) {
    const button = element("button", "Cancel");
    button.type = "button";
    button.addEventListener("click", () => cancel(current.task_id, button));
    actions.append(button);
  }
  const state = element("td", slot.state, `state state-${slot.state}`);
  row.append(
    element("td", slot.host),
    element("td", `${slot.gpu_index}: ${slot.gpu_name ?? "GPU"}`),
    state,
    element("td", slot.loaded_model ?? "—"),
    taskCell,
    progressCell(current?.progress),
    element("td", duration(current?.progress?.eta_s)),
    element("td", slot.jobs_done, "num"),
    element("td", slot.jobs_failed, "num"),
    element("td", slot.engine_restarts, "num"),
    element("td", `${Math.round(slot.busy_ratio * 100)}%`, "num"),
    element("td", ago(slot.updated_at, now)),
    actions,
  );
  if (slot.last_error) {
    row.title = `last error: ${slot.last_error.message}`;
    // The row's title is the pointer's: a screen reader reads it with the state.
    state.append(element("span", `, ${row.title}`, "visually-hidden"));
  }
  return row;
}

function queueNote(queue, unknownModels) {
  const notes = queue.paused ? ["paused"] : [];
  if (unknownModels.has(queue.model)) notes.push(`waiting for a host that knows ${queue.model}`);
  return notes.join(", ");
}

function wangpHostRow(host) {
  const row = element("tr");
  const problems = host.preflight ? host.preflight.problems.join("; ") || "ok" : "—";
  row.append(
    element("td", host.host),
    element("td", host.version ?? "?"),
    element("td", host.mmgp_version ?? "?"),
    element("td", host.model_types, "num"),
    element("td", problems),
    element("td", host.wangp_root, "muted"),
  );
  return row;
}

function queueRow(queue, unknownModels) {
  const row = element("tr");
  row.dataset.queue = queue.queue;
  const counts = queue.counts;
  row.append(
    cell(link(queue.board_url, queue.queue)),
    element("td", queue.queued, "num"),
    element("td", counts.active, "num"),
    element("td", counts.delayed, "num"),
    element("td", counts.failed, "num"),
    element("td", counts.completed, "num"),
    element("td", queue.queued > 0 ? duration(queue.oldest_wait_s) : "—"),
    element("td", queueNote(queue, unknownModels)),
  );
  return row;
}

function render(status) {
  const now = Date.parse(status.generated_at) || Date.now();
  const slots = document.querySelector("#slots tbody");
  redrawKeepingFocus(slots, "slot", () =>
    slots.replaceChildren(...status.slots.map((slot) => slotRow(slot, status, now))),
  );
  document.getElementById("no-slots").hidden = status.slots.length > 0;
  const unknownModels = new Set(status.models_without_host ?? []);
  const queues = document.querySelector("#queues tbody");
  redrawKeepingFocus(queues, "queue", () =>
    queues.replaceChildren(...status.queues.map((queue) => queueRow(queue, unknownModels))),
  );
  document
    .querySelector("#wangp-hosts tbody")
    .replaceChildren(...(status.wangp_hosts ?? []).map(wangpHostRow));
  const counters = document.getElementById("counters");
  counters.replaceChildren(
    ...Object.entries(status.counters).flatMap(([name, value]) => [
      element("dt", name.replace(/_/g, " ")),
      element("dd", value),
    ]),
  );
  document.getElementById("badge").hidden = !status.read_only;
  document.getElementById("updated").textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

async function refresh() {
  try {
    render(await getJson("/farm/api/status"));
  } catch (problem) {
    throw new Error(`Cannot refresh: ${problem.message}`);
  }
}

showThenPoll("status", render, refresh, REFRESH_MS, document.getElementById("error"));
// The charts are below the fold: their code and their reads wait until their section is in view
// (looked at once every module has drawn its first view), so that they take nothing from it.
document.addEventListener("DOMContentLoaded", () =>
  whenSeen(document.getElementById("charts-title"), () => import("./farm-charts.js")),
);
