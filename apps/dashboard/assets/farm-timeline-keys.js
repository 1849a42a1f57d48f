// Reading the GPU timeline from the keyboard. The chart is one tab stop (a roving tabindex over its
// rows): Up/Down move between slots, Left/Right/Home/End between a row's segments, each showing the
// tip the pointer shows, under the segment and in a live region; Escape hides it. Nothing is added
// per segment: one cursor outline and one tip are moved (a 100-slot timeline has over a thousand).
import { svg } from "./farm-dom.js";

const ROW_SELECTOR = "g[data-slot]";
const TIP_GAP = 4;

export class TimelineCursor {
  #tip;
  #piecesOf;
  #tipText;
  #outline = svg("rect", { class: "timeline-cursor", rx: 2, "aria-hidden": "true" });
  /** The row and segment read last (its start time finds it again in a redrawn chart). */
  #slot;
  #start;

  /**
   * `box` holds the chart, `tip` is the element that shows a tip, `piecesOf(row)` gives a row's
   * segments as drawn (left to right, each `{x, y, width, height, segment}`), `tipText(segment)` the tip's text.
   */
  constructor(box, tip, piecesOf, tipText) {
    this.#tip = tip;
    this.#piecesOf = piecesOf;
    this.#tipText = tipText;
    box.addEventListener("keydown", (event) => this.#onKey(event));
    box.addEventListener("focusin", (event) => {
      if (event.target.matches?.(ROW_SELECTOR)) this.#show(event.target, this.#indexIn(event.target));
    });
    box.addEventListener("focusout", (event) => {
      if (!box.contains(event.relatedTarget)) this.hide();
    });
    box.addEventListener("scroll", () => {
      if (this.#outline.isConnected) this.#place();
    });
  }

  /**
   * After the chart was drawn again: the row read last (else the first) is the chart's tab stop, and
   * keeps the focus and its tip if the old chart had them.
   */
  adopt(chart, hadFocus) {
    const rows = [...chart.querySelectorAll(ROW_SELECTOR)];
    const current = rows.find((row) => row.dataset.slot === this.#slot) ?? rows[0];
    for (const row of rows) row.setAttribute("tabindex", row === current ? "0" : "-1");
    if (hadFocus && current) current.focus({ preventScroll: true });
    else this.hide();
  }

  hide() {
    this.#outline.remove();
    this.#tip.textContent = "";
    this.#tip.classList.remove("shown");
  }

  #onKey(event) {
    const row = event.target.closest?.(ROW_SELECTOR);
    if (!row) return;
    const last = this.#piecesOf(row).length - 1;
    const index = this.#indexIn(row);
    const moves = {
      ArrowRight: () => this.#show(row, Math.min(last, index + 1)),
      ArrowLeft: () => this.#show(row, Math.max(0, index - 1)),
      Home: () => this.#show(row, 0),
      End: () => this.#show(row, last),
      ArrowDown: () => this.#moveRow(row, row.nextElementSibling),
      ArrowUp: () => this.#moveRow(row, row.previousElementSibling),
      Escape: () => this.hide(),
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    move();
  }

  /** The index of the segment read last in `row`, if it is still drawn there, else 0. */
  #indexIn(row) {
    if (row.dataset.slot !== this.#slot) return 0;
    return Math.max(
      0,
      this.#piecesOf(row).findIndex((piece) => piece.segment.start === this.#start),
    );
  }

  /** To the neighbouring row, on the segment there at the same time as the one read now. */
  #moveRow(row, next) {
    if (!next?.matches(ROW_SELECTOR)) return;
    const at = this.#piecesOf(row)[this.#indexIn(row)];
    const middle = at ? at.x + at.width / 2 : 0;
    const pieces = this.#piecesOf(next);
    const below = pieces.findIndex((piece) => piece.x + piece.width >= middle);
    this.#select(next, below < 0 ? pieces.length - 1 : below);
    row.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
  }

  #select(row, index) {
    const piece = this.#piecesOf(row)[index];
    this.#slot = row.dataset.slot;
    this.#start = piece?.segment.start;
    return piece;
  }

  #show(row, index) {
    const piece = this.#select(row, index);
    if (!piece) return;
    const { x, y, width, height } = piece;
    for (const [name, value] of Object.entries({ x, y, width, height }))
      this.#outline.setAttribute(name, value.toFixed(1));
    row.append(this.#outline);
    const text = this.#tipText(piece.segment);
    if (this.#tip.textContent !== text) this.#tip.textContent = text;
    this.#tip.classList.add("shown");
    this.#place();
  }

  /** The tip under the outlined segment, where the box has scrolled it to. */
  #place() {
    const frame = this.#tip.offsetParent.getBoundingClientRect();
    const segment = this.#outline.getBoundingClientRect();
    const tip = this.#tip.getBoundingClientRect();
    const left = Math.min(segment.left - frame.left, frame.width - tip.width);
    this.#tip.style.left = `${Math.max(0, left)}px`;
    this.#tip.style.top = `${segment.bottom - frame.top + TIP_GAP}px`;
  }
}
