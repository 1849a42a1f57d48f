// Small DOM helpers for the farm page's modules. Values from the farm always go in as text or
// attributes, never as HTML: prompts and errors are written by whoever submits tasks.

const SVG_NS = "http://www.w3.org/2000/svg";

export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function svg(tag, attributes = {}, title) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (title) {
    const tip = document.createElementNS(SVG_NS, "title");
    tip.textContent = title;
    node.append(tip);
  }
  return node;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

// One formatter for every time on the page: toLocaleTimeString builds a new one at each call, which
// cost seconds of script on a 100-slot timeline (two times in the tip of each of its segments).
const CLOCK = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });

export function clock(ms) {
  return CLOCK.format(ms);
}

/** A colour per model, stable for a model list, readable on light and dark backgrounds. */
const PALETTE = ["#2f6fdd", "#1f8a4c", "#8e44ad", "#d35400", "#00838f", "#ad1457", "#6d4c41", "#5c6bc0"];
export function modelColour(models, model) {
  const index = models.indexOf(model);
  return PALETTE[Math.max(index, 0) % PALETTE.length];
}

export async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.status === 401) {
    window.location.assign(
      `/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`,
    );
    throw new Error("not logged in");
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

/**
 * Runs `refresh` every `ms` (the first time after `firstAfterMs`, or now), showing a failure in
 * `errorNode` instead of throwing.
 */
export function poll(refresh, ms, errorNode, firstAfterMs = 0) {
  const run = async () => {
    try {
      await refresh();
      errorNode.hidden = true;
    } catch (problem) {
      errorNode.textContent = problem.message;
      errorNode.hidden = false;
    } finally {
      setTimeout(run, ms);
    }
  };
  if (firstAfterMs > 0) setTimeout(run, firstAfterMs);
  else run();
}

let firstViewData;

/** A part of the data the dashboard sent with the page (`status`, `timeline`, `results`), if it did. */
export function firstView(part) {
  firstViewData ??= JSON.parse(document.getElementById("first-view")?.textContent || "{}");
  return firstViewData[part];
}

/**
 * Draws `part` of the page's first view with `render` at once (when the page came with it and
 * `usable` says it answers what the section shows), then polls `refresh`; without it, polls now.
 */
export function showThenPoll(part, render, refresh, ms, errorNode, usable = true) {
  const first = usable ? firstView(part) : undefined;
  if (first === undefined) {
    poll(refresh, ms, errorNode);
    return;
  }
  render(first);
  // When each part was drawn, for the dashboard bench (and anyone's devtools).
  performance.mark(`farm first view: ${part}`);
  poll(refresh, ms, errorNode, ms);
}

/** Radio-like toggle buttons (aria-pressed): calls `onPick(value)` with the chosen button's data-value. */
export function toggleGroup(container, onPick) {
  const buttons = [...container.querySelectorAll("button")];
  for (const button of buttons) {
    button.addEventListener("click", () => {
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      onPick(button.dataset.value);
    });
  }
}

/**
 * A filter form: fills its `.model-state` placeholder with the shared model and state fields (the
 * states it offers are its `data-states`) and returns a reader of its query string, with each value
 * as `convert(name, value)` makes it; empty fields are left out.
 */
export function filterForm(form, convert = (_name, value) => value) {
  const placeholder = form.querySelector(".model-state");
  if (placeholder) {
    placeholder.append(document.getElementById("model-state-fields").content.cloneNode(true));
    const select = placeholder.querySelector('select[name="state"]');
    for (const state of placeholder.dataset.states.split(" ")) select.append(element("option", state));
  }
  return () => {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) query.set(name, convert(name, value));
    return query.toString();
  };
}

/** Runs `work` once, when `node` first comes into view. */
export function whenSeen(node, work) {
  const seen = new IntersectionObserver((entries) => {
    if (!entries.some((entry) => entry.isIntersecting)) return;
    seen.disconnect();
    work();
  });
  seen.observe(node);
}

const FOCUSABLE = "a[href], button, input, select, [tabindex]";

/**
 * Runs `redraw`, which replaces what `container` holds, and puts the keyboard's focus back where it
 * was: on the item with the same `data-<field>` (the focused element or the one holding it) and on the
 * same control of it. A poll's redraw otherwise drops the focus to the page's start every few seconds.
 */
export function redrawKeepingFocus(container, field, redraw) {
  const focused = document.activeElement;
  const item = container.contains(focused) ? focused.closest(`[data-${field}]`) : null;
  const id = item?.dataset[field];
  const control = item ? [...item.querySelectorAll(FOCUSABLE)].indexOf(focused) : -1;
  redraw();
  if (id === undefined) return;
  const again = [...container.querySelectorAll(`[data-${field}]`)].find((node) => node.dataset[field] === id);
  const target = control < 0 ? again : again?.querySelectorAll(FOCUSABLE)[control];
  target?.focus({ preventScroll: true });
}
