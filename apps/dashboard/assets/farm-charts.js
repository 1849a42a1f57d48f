// Charts: completed tasks per hour by model (stacked bars), queue depth and oldest wait per model
// over time (lines, from the sampled history), and generation time per model and resolution.
// Below the fold: farm.js loads this module once the section comes into view.
import { clock, duration, element, getJson, modelColour, poll, svg, toggleGroup } from "./farm-dom.js";

const REFRESH_MS = 60_000;
const W = 560;
const H = 160;
const PAD = 28;
let hours = 24;

function frame(label) {
  const root = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
  root.setAttribute("aria-label", label);
  root.append(svg("line", { x1: PAD, x2: W - 4, y1: H - PAD, y2: H - PAD, class: "grid-line" }));
  return root;
}

/** A time on the axis: the clock, with the day when the chart spans more than one. */
function axisTime(ms, spanMs) {
  if (spanMs < 20 * 3_600_000) return clock(ms);
  return new Date(ms).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

function axisLabels(root, from, to, max, unit) {
  const top = svg("text", { x: 2, y: 12, class: "axis" });
  top.textContent = `${max}${unit}`;
  const start = svg("text", { x: PAD, y: H - 8, class: "axis" });
  start.textContent = axisTime(from, to - from);
  const end = svg("text", { x: W - 4, y: H - 8, class: "axis", "text-anchor": "end" });
  end.textContent = axisTime(to, to - from);
  root.append(top, start, end);
}

function completedChart(charts, models) {
  const hoursCount = charts.completed_per_hour[0]?.counts.length ?? 0;
  const totals = Array.from({ length: hoursCount }, (_, h) =>
    charts.completed_per_hour.reduce((sum, series) => sum + series.counts[h], 0),
  );
  const max = Math.max(1, ...totals);
  const root = frame(`completed tasks per hour, ${totals.reduce((a, b) => a + b, 0)} in all`);
  const barW = (W - PAD - 4) / Math.max(1, hoursCount);
  for (let h = 0; h < hoursCount; h += 1) {
    let y = H - PAD;
    for (const series of charts.completed_per_hour) {
      const count = series.counts[h];
      if (!count) continue;
      const height = ((H - 2 * PAD) * count) / max;
      y -= height;
      const start = charts.from + h * 3_600_000;
      root.append(
        svg(
          "rect",
          {
            x: PAD + h * barW + 1,
            y,
            width: Math.max(1, barW - 2),
            height,
            fill: modelColour(models, series.model),
          },
          `${series.model}: ${count} completed ${clock(start)}–${clock(start + 3_600_000)}`,
        ),
      );
    }
  }
  axisLabels(root, charts.from, charts.to, max, "");
  return root;
}

function lineChart(samples, models, readValue, label, unit) {
  const root = frame(label);
  if (samples.length === 0) return root;
  const from = samples[0].at;
  const to = Math.max(from + 60_000, samples.at(-1).at);
  const max = Math.max(
    1,
    ...samples.flatMap((sample) => sample.queues.map((queue) => readValue(queue) ?? 0)),
  );
  const x = (at) => PAD + ((at - from) / (to - from)) * (W - PAD - 4);
  const y = (value) => H - PAD - ((H - 2 * PAD) * value) / max;
  for (const model of models) {
    const points = samples
      .map((sample) => [sample.at, sample.queues.find((queue) => queue.model === model)])
      .filter(([, queue]) => queue)
      .map(([at, queue]) => `${x(at).toFixed(1)},${y(readValue(queue) ?? 0).toFixed(1)}`);
    if (points.length === 0) continue;
    if (points.length === 1) {
      // One sample so far: a dot, since a line needs two.
      const [cx, cy] = points[0].split(",");
      root.append(svg("circle", { cx, cy, r: 3, fill: modelColour(models, model) }, model));
      continue;
    }
    root.append(
      svg(
        "polyline",
        { points: points.join(" "), fill: "none", stroke: modelColour(models, model), "stroke-width": 2 },
        model,
      ),
    );
  }
  axisLabels(root, from, to, unit === "s" ? duration(max) : max, unit === "s" ? "" : unit);
  return root;
}

function generationTable(stats) {
  const body = document.querySelector("#generation tbody");
  body.replaceChildren(
    ...stats.map((row) => {
      const line = element("tr");
      line.append(
        element("td", row.model),
        element("td", row.resolution),
        element("td", row.count, "num"),
        element("td", duration(row.median_s), "num"),
        element("td", duration(row.p95_s), "num"),
      );
      return line;
    }),
  );
}

async function refresh() {
  const charts = await getJson(`/farm/api/charts?hours=${hours}`);
  const models = charts.completed_per_hour.map((series) => series.model);
  document.getElementById("chart-completed").replaceChildren(completedChart(charts, models));
  document
    .getElementById("chart-depth")
    .replaceChildren(lineChart(charts.queue_samples, models, (q) => q.queued, "queue depth per model", ""));
  document
    .getElementById("chart-wait")
    .replaceChildren(
      lineChart(charts.queue_samples, models, (q) => q.oldest_wait_s, "oldest wait per model", "s"),
    );
  const legend = document.getElementById("charts-legend");
  legend.replaceChildren(
    ...models.map((model) => {
      const item = element("li");
      const swatch = element("span", undefined, "swatch");
      swatch.style.background = modelColour(models, model);
      item.append(swatch, model);
      return item;
    }),
  );
  generationTable(charts.generation);
}

toggleGroup(document.getElementById("charts-range"), (value) => {
  hours = Number(value);
  refresh().catch(() => undefined);
});
poll(refresh, REFRESH_MS, document.getElementById("charts-error"));
