import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Logger } from "@wgp-farm/config";
import type { Response } from "express";

const FARM_PAGE = fileURLToPath(new URL("../../assets/farm.html", import.meta.url));
/** Where the first view's data goes in the page: after the shell, before the closing tags. */
const FIRST_VIEW_MARK = "<!-- first view -->";

/** What the page draws first, by part (`status`, `timeline`, `results`); a part that could not be read is left out. */
export type FirstViewParts = Record<string, () => Promise<unknown>>;

/** The images the first view shows at once, from its data: fetched while the page's scripts load. */
export type FirstViewImages = (data: Record<string, unknown>) => string[];

/** A URL as a double-quoted HTML attribute's value. */
function attributeText(url: string): string {
  return url.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A value as the text of a JSON script block: every `<` escaped, so nothing in it can end the block. */
export function jsonScriptText(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/**
 * The farm page, sent in two parts: the shell at once, so that the browser fetches the styles and
 * scripts while the dashboard reads the farm; then the first view's data as a JSON block (not run:
 * the CSP allows no inline script) that the scripts draw from without a request of their own.
 * Before, the page's first view waited for the scripts to load before its three reads even began.
 */
export class FarmPage {
  readonly #parts = readFile(FARM_PAGE, "utf8").then((page) => {
    const at = page.indexOf(FIRST_VIEW_MARK);
    if (at < 0) throw new Error(`${FARM_PAGE} has no '${FIRST_VIEW_MARK}'`);
    return { shell: page.slice(0, at), end: page.slice(at + FIRST_VIEW_MARK.length) };
  });
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  async send(res: Response, parts: FirstViewParts, imagesOf: FirstViewImages = () => []): Promise<void> {
    const { shell, end } = await this.#parts;
    res.status(200).set("Cache-Control", "no-store").type("html");
    res.write(shell);
    const names = Object.keys(parts);
    const settled = await Promise.allSettled(names.map((name) => (parts[name] as () => Promise<unknown>)()));
    const data: Record<string, unknown> = {};
    settled.forEach((outcome, i) => {
      const name = names[i] as string;
      if (outcome.status === "fulfilled") data[name] = outcome.value;
      // The page reads that part itself, and shows its error where it belongs.
      else this.#logger.warn({ err: outcome.reason, part: name }, "cannot read the farm page's first view");
    });
    // Preloaded before the data's block: the posters of the grid's first rows are the first view's
    // last part to arrive otherwise, asked for only once the scripts have drawn the grid.
    const preloads = imagesOf(data).map(
      (url) => `<link rel="preload" as="image" href="${attributeText(url)}">`,
    );
    res.end(
      `${preloads.join("")}<script type="application/json" id="first-view">${jsonScriptText(data)}</script>${end}`,
    );
  }
}
