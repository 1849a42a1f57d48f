// The results grid: recent results as previews (poster, animated on hover or focus), filtered by
// model, state and time; each opens the result itself in a viewer that plays and seeks it.
import {
  clock,
  duration,
  element,
  filterForm,
  getJson,
  redrawKeepingFocus,
  showThenPoll,
} from "./farm-dom.js";

const REFRESH_MS = 10_000;
/** The posters of the grid's first rows load at once: they are in the page's first view. */
const EAGER_POSTERS = 12;
const grid = document.getElementById("results");
const form = document.getElementById("results-filter");
const viewer = document.getElementById("viewer");
const filterQuery = filterForm(form);

function previewImage(card, index) {
  if (!card.poster_url)
    return element("span", card.state === "failed" ? "failed" : "no preview", "no-preview");
  const image = element("img");
  image.loading = index < EAGER_POSTERS ? "eager" : "lazy";
  image.src = card.poster_url;
  image.alt = `preview of ${card.task_id}`;
  if (card.animated_url) {
    const still = card.poster_url;
    const play = () => {
      image.src = card.animated_url;
    };
    const stop = () => {
      image.src = still;
    };
    image.dataset.animated = card.animated_url;
    image.addEventListener("mouseenter", play);
    image.addEventListener("mouseleave", stop);
    image._play = play;
    image._stop = stop;
  }
  return image;
}

function tile(card, index) {
  const item = element("li");
  const button = element("button", undefined, `result result-${card.state}`);
  button.type = "button";
  button.dataset.task = card.task_id;
  const image = previewImage(card, index);
  button.append(
    image,
    element("span", card.task_id, "result-id"),
    element("span", `${card.model} · ${card.state} · ${clock(card.finished_at)}`, "muted"),
  );
  button.title = card.prompt;
  if (image._play) {
    button.addEventListener("focus", image._play);
    button.addEventListener("blur", image._stop);
  }
  button.addEventListener("click", () => openViewer(card));
  item.append(button);
  return item;
}

export function openViewer(card) {
  const body = viewer.querySelector(".viewer-body");
  const media = [];
  if (card.main_url && card.media_type === "image") {
    const image = element("img");
    image.src = card.main_url;
    image.alt = card.prompt;
    media.push(image);
  } else if (card.main_url) {
    const video = element("video");
    video.controls = true;
    video.autoplay = true;
    video.muted = true;
    video.loop = true;
    video.preload = "auto";
    if (card.poster_url) video.poster = card.poster_url;
    video.src = card.main_url;
    media.push(video);
  } else {
    media.push(
      element("p", card.error ?? "No media to show (the dashboard has no --main-output-dir).", "muted"),
    );
  }
  const details = element("dl");
  const facts = [
    ["Task", card.task_id],
    ["Model", card.model],
    ["State", card.state],
    ["Resolution", card.resolution ?? "default"],
    ["Generation", duration(card.generation_s)],
    ["Finished", new Date(card.finished_at).toLocaleString()],
    ["Prompt", card.prompt],
  ];
  for (const [name, value] of facts) details.append(element("dt", name), element("dd", value));
  const links = element("p");
  if (card.main_url) {
    const open = element("a", "Open the file");
    open.href = card.main_url;
    links.append(open);
  }
  body.replaceChildren(...media, details, links);
  viewer.querySelector("#viewer-title").textContent = card.task_id;
  if (!viewer.open) viewer.showModal();
}

viewer.addEventListener("close", () => {
  viewer.querySelector("video")?.pause();
  const url = new URL(window.location.href);
  if (url.searchParams.has("task")) {
    url.searchParams.delete("task");
    window.history.replaceState(null, "", url);
  }
});

function render({ results }) {
  redrawKeepingFocus(grid, "task", () => grid.replaceChildren(...results.map(tile)));
  document.getElementById("no-results").hidden = results.length > 0;
}

async function refresh() {
  render(await getJson(`/farm/api/results?${filterQuery()}`));
}

form.addEventListener("change", () => refresh().catch(() => undefined));
form.addEventListener("submit", (event) => event.preventDefault());
// The first view's results are the unfiltered grid's (a reload may have kept a filter).
const unfiltered = filterQuery() === "";
showThenPoll("results", render, refresh, REFRESH_MS, document.getElementById("results-error"), unfiltered);

// `/farm?task=<id>` (Bull Board's job page links here) opens that task's result.
const asked = new URL(window.location.href).searchParams.get("task");
if (asked) {
  getJson(`/farm/api/tasks/${encodeURIComponent(asked)}/result`)
    .then(openViewer)
    .catch((problem) => {
      const error = document.getElementById("results-error");
      error.textContent = `Task ${asked}: ${problem.message}`;
      error.hidden = false;
    });
}
