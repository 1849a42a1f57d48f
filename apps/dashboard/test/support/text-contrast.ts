import type { Page } from "playwright-core";

/** A text on the page, its colour and the backgrounds under it (nearest first, to the first opaque one). */
interface ComputedText {
  where: string;
  text: string;
  colour: string;
  backgrounds: string[];
  /** WCAG's large text: 24 px, or 18.66 px bold; 3:1 is enough for it. */
  large: boolean;
}

/** A text that reads below WCAG AA's ratio. */
export interface LowContrast {
  where: string;
  text: string;
  ratio: number;
  needed: number;
}

type Rgba = [number, number, number, number];

function parseColour(css: string): Rgba {
  const parts = /^rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:,? \/? ?([\d.]+%?))?\)$/.exec(css);
  if (!parts) throw new Error(`a computed colour not in rgb(): ${css}`);
  const [, r, g, b, alpha] = parts;
  const a = alpha === undefined ? 1 : alpha.endsWith("%") ? Number.parseFloat(alpha) / 100 : Number(alpha);
  return [Number(r), Number(g), Number(b), a];
}

/** `top` drawn over the opaque `under`. */
function over(top: Rgba, under: Rgba): Rgba {
  const [r, g, b, a] = top;
  return [r * a + under[0] * (1 - a), g * a + under[1] * (1 - a), b * a + under[2] * (1 - a), 1];
}

/** WCAG 2's relative luminance of an sRGB colour. */
function luminance([r, g, b]: Rgba): number {
  const linear = (channel: number) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

export function contrastRatio(a: Rgba, b: Rgba): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/**
 * Every visible text on the page (SVG text by its fill, form fields by their value's or placeholder's
 * colour) with the colours the page computes for it now.
 */
function computedTexts(page: Page): Promise<ComputedText[]> {
  return page.locator("body").evaluate((body) => {
    const view = body.ownerDocument.defaultView;
    const shown = (node: typeof body) => {
      const box = node.getBoundingClientRect();
      return box.width > 1 && box.height > 1 && node.checkVisibility({ visibilityProperty: true });
    };
    const describe = (node: typeof body) => {
      const named = node.closest("[id]");
      const own = node.id
        ? `#${node.id}`
        : `${node.tagName.toLowerCase()}.${node.getAttribute("class") ?? ""}`;
      return named && named !== node ? `#${named.id} ${own}` : own;
    };
    const backgroundsOf = (node: typeof body) => {
      const backgrounds: string[] = [];
      for (let at = node; at; at = at.parentElement) {
        const background = view.getComputedStyle(at).backgroundColor;
        if (background === "rgba(0, 0, 0, 0)") continue;
        backgrounds.push(background);
        if (!background.startsWith("rgba")) break;
      }
      return backgrounds;
    };
    const holders = new Set<typeof body>();
    const walker = body.ownerDocument.createTreeWalker(body, 4 /* NodeFilter.SHOW_TEXT */);
    for (let text = walker.nextNode(); text; text = walker.nextNode())
      if (text.textContent.trim() && text.parentElement) holders.add(text.parentElement);
    for (const field of body.querySelectorAll("input, select")) holders.add(field);
    return [...holders]
      .filter((node) => shown(node) && !node.matches(":disabled"))
      .map((node) => {
        const style = view.getComputedStyle(node);
        const size = Number.parseFloat(style.fontSize);
        const isSvg = node.namespaceURI === "http://www.w3.org/2000/svg";
        // An empty field shows its placeholder.
        const placeholder = node.value === "" && node.placeholder;
        return {
          where: describe(node),
          text: (placeholder || node.value || node.textContent).trim().slice(0, 40),
          colour: isSvg
            ? style.fill
            : placeholder
              ? view.getComputedStyle(node, "::placeholder").color
              : style.color,
          backgrounds: backgroundsOf(node),
          large: size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700),
        };
      });
  });
}

/** The page's texts that read below WCAG AA (4.5:1, large text 3:1), and how many texts were read. */
export async function lowContrastText(page: Page): Promise<{ checked: string[]; low: LowContrast[] }> {
  const texts = await computedTexts(page);
  const low = texts.flatMap(({ where, text, colour, backgrounds, large }) => {
    const canvas = backgrounds.reduceRight<Rgba>(
      (under, background) => over(parseColour(background), under),
      [255, 255, 255, 1],
    );
    const ratio = contrastRatio(over(parseColour(colour), canvas), canvas);
    const needed = large ? 3 : 4.5;
    return ratio < needed ? [{ where, text, ratio: Math.round(ratio * 100) / 100, needed }] : [];
  });
  return { checked: texts.map((text) => text.where), low };
}
