// The GPU timeline: one row per slot over the last 1/6/24 h (loading, generating coloured by model,
// idle, engine restart, failed, lost and cancelled attempts) and, above it, the split of GPU time.
import {
  clock,
  duration,
  element,
  getJson,
  modelColour,
  showThenPoll,
  svg,
  toggleGroup,
} from "./farm-dom.js";
import { TimelineCursor } from "./farm-timeline-keys.js";

const REFRESH_MS = 15_000;
const LABEL_W = 170;
const ROW_H = 22;
const AXIS_H = 20;
const KIND_LABEL = {
  loading: "loading a model",
  generating: "generating",
  idle: "idle",
  restart: "engine restart",
  failed: "failed attempt",
  lost: "lost attempt",
  cancelled: "cancelled attempt",
};
let hours = 1;
const cursor = new TimelineCursor(
  document.getElementById("timeline"),
  document.getElementById("timeline-tip"),
  (row) => piecesOfRow.get(row) ?? [],
  tipOf,
);

function percent(part, whole) {
  return whole > 0 ? Math.round((100 * part) / whole) : 0;
}

function renderSplit(split) {
  const total = split.generating + split.loading + split.idle + split.wasted;
  const parts = [
    ["generating", split.generating],
    ["loading", split.loading],
    ["idle", split.idle],
    ["wasted", split.wasted],
  ];
  const bar = document.getElementById("split-bar");
  bar.replaceChildren(
    ...parts
      .filter(([, ms]) => ms > 0)
      .map(([name, ms]) => {
        const piece = element("span", undefined, `split split-${name}`);
        piece.style.flexGrow = String(ms);
        piece.title = `${name}: ${duration(ms / 1000)}`;
        return piece;
      }),
  );
  const legend = document.getElementById("split-legend");
  legend.replaceChildren(
    ...parts.flatMap(([name, ms]) => {
      const item = element("li");
      item.dataset.kind = name;
      item.append(
        element("span", undefined, `swatch split-${name}`),
        `${name} ${percent(ms, total)}% (${duration(ms / 1000)})`,
      );
      return [item];
    }),
  );
}

/** Each drawn path's segments with their x extents, for the tip under the pointer. */
const segmentsOf = new WeakMap();
/** Each drawn row's segments, left to right, for the keyboard's cursor. */
const piecesOfRow = new WeakMap();

function tipOf(segment) {
  const span = `${clock(segment.start)}–${clock(segment.end)} (${duration((segment.end - segment.start) / 1000)})`;
  return [KIND_LABEL[segment.kind], segment.detail, segment.model, segment.task_id, span]
    .filter(Boolean)
    .join(" · ");
}

// The tip of the segment under the pointer, made as the pointer moves: a row draws each kind as
// one path, and a 100-slot timeline has thousands of segments (a title each doubled the page's nodes).
document.getElementById("timeline").addEventListener("mousemove", (event) => {
  const drawn = segmentsOf.get(event.target);
  if (!drawn) return;
  const chart = event.target.ownerSVGElement;
  const box = chart.getBoundingClientRect();
  // In the drawing's units: the drawing shrinks to its box when the box got narrower after it was drawn.
  const x = (event.clientX - box.left) * (chart.viewBox.baseVal.width / box.width);
  const under = drawn.find((piece) => x >= piece.x - 0.5 && x <= piece.x + piece.width + 0.5);
  if (!under) return;
  const tip = event.target.firstChild ?? event.target.appendChild(svg("title"));
  const text = tipOf(under.segment);
  if (tip.textContent !== text) tip.textContent = text;
});

function segmentFill(segment, models) {
  return segment.kind === "generating" ? modelColour(models, segment.model) : `var(--kind-${segment.kind})`;
}

/**
 * A row's segments drawn as one path per kind (and per model for generating), each segment a closed
 * rectangle of the path, not one element each: a 100-slot timeline has over a thousand segments, and
 * their style, layout and paint were a large part of the farm page's first view.
 */
function rowPaths(row, y, x, models, pieces) {
  // By kind, and by model for generating (two models may share a colour past the palette's end).
  const byLook = new Map();
  for (const segment of row.segments) {
    const look = segment.kind === "generating" ? `generating ${segment.model}` : segment.kind;
    const left = x(segment.start);
    const piece = {
      x: left,
      y: y + 3,
      width: Math.max(1, x(segment.end) - left),
      height: ROW_H - 6,
      segment,
    };
    pieces.push(piece);
    const drawn = byLook.get(look);
    if (drawn) drawn.push(piece);
    else byLook.set(look, [piece]);
  }
  return [...byLook.values()].map((pieces) => {
    const { kind, model } = pieces[0].segment;
    const fill = segmentFill(pieces[0].segment, models);
    const d = pieces
      .map(
        ({ x: left, width }) =>
          `M${left.toFixed(1)} ${y + 3}h${width.toFixed(1)}v${ROW_H - 6}h${(-width).toFixed(1)}z`,
      )
      .join("");
    const path = svg("path", {
      d,
      fill,
      "data-kind": kind,
      ...(kind === "generating" ? { "data-model": model } : {}),
    });
    segmentsOf.set(path, pieces);
    return path;
  });
}

function renderRows(timeline) {
  const chart = document.getElementById("timeline");
  const width = Math.max(600, chart.clientWidth || 900);
  const span = timeline.to - timeline.from;
  const x = (ms) => LABEL_W + ((ms - timeline.from) / span) * (width - LABEL_W - 8);
  const height = AXIS_H + timeline.rows.length * ROW_H + 4;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "group" });
  root.setAttribute("aria-label", `GPU timeline of ${timeline.rows.length} slots over the last ${hours} h`);
  root.setAttribute("aria-describedby", "timeline-keys");
  for (let tick = 0; tick <= 6; tick += 1) {
    const at = timeline.from + (span * tick) / 6;
    root.append(svg("line", { x1: x(at), x2: x(at), y1: AXIS_H - 4, y2: height, class: "grid-line" }));
    const label = svg("text", {
      x: x(at),
      y: 12,
      "text-anchor": tick === 0 ? "start" : tick === 6 ? "end" : "middle",
      class: "axis",
    });
    label.textContent = clock(at);
    root.append(label);
  }
  timeline.rows.forEach((row, index) => {
    const y = AXIS_H + index * ROW_H;
    const group = svg("g", {
      "data-slot": row.slot,
      role: "group",
      "aria-label": `${row.slot}: ${row.segments.length} segments`,
    });
    const name = svg("text", { x: 0, y: y + 15, class: "row-label" });
    name.textContent = row.slot;
    const pieces = [];
    group.append(name, ...rowPaths(row, y, x, timeline.models, pieces));
    piecesOfRow.set(group, pieces);
    root.append(group);
  });
  const hadFocus = chart.contains(document.activeElement);
  chart.replaceChildren(root);
  cursor.adopt(root, hadFocus);
  document.getElementById("no-timeline").hidden = timeline.rows.length > 0;
  const legend = document.getElementById("timeline-legend");
  legend.replaceChildren(
    ...timeline.models.map((model) => {
      const item = element("li");
      const swatch = element("span", undefined, "swatch");
      swatch.style.background = modelColour(timeline.models, model);
      item.append(swatch, model);
      return item;
    }),
    ...["loading", "idle", "restart", "failed", "lost", "cancelled"].map((kind) => {
      const item = element("li");
      const swatch = element("span", undefined, "swatch");
      swatch.style.background = `var(--kind-${kind})`;
      item.append(swatch, KIND_LABEL[kind]);
      return item;
    }),
  );
}

function render(timeline) {
  renderSplit(timeline.split);
  renderRows(timeline);
}

async function refresh() {
  render(await getJson(`/farm/api/timeline?hours=${hours}`));
}

toggleGroup(document.getElementById("timeline-range"), (value) => {
  hours = Number(value);
  refresh().catch(() => undefined);
});
// The first view's timeline is the last hour's, the window the page opens with.
showThenPoll("timeline", render, refresh, REFRESH_MS, document.getElementById("timeline-error"));
