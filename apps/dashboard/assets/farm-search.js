// Task search: by id prefix, words of the prompt, model, state and time range, from the farm's own
// index (the same answer as `wgp-farm ls --search`).
import { element, filterForm, getJson } from "./farm-dom.js";

const form = document.getElementById("search");
const table = document.querySelector("#search-results tbody");
const status = document.getElementById("search-status");
// datetime-local has no zone: it is the browser's local time.
const searchQuery = filterForm(form, (name, value) =>
  name === "since" || name === "until" ? new Date(value).toISOString() : value,
);

function row(task) {
  const line = element("tr");
  line.dataset.task = task.task_id;
  const link = element("a", task.task_id);
  link.href = `/farm?task=${encodeURIComponent(task.task_id)}`;
  const id = element("td");
  id.append(link);
  line.append(
    id,
    element("td", task.state, `state state-${task.state}`),
    element("td", task.model ?? "—"),
    element("td", task.name ?? ""),
    element("td", task.created_at ? new Date(task.created_at).toLocaleString() : "—"),
  );
  return line;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "searching…";
  try {
    const { tasks } = await getJson(`/farm/api/search?${searchQuery()}`);
    table.replaceChildren(...tasks.map(row));
    status.textContent = `${tasks.length} task${tasks.length === 1 ? "" : "s"} found`;
  } catch (problem) {
    status.textContent = `Cannot search: ${problem.message}`;
  }
});
