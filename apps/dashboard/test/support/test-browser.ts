import { mkdir } from "node:fs/promises";
import { type Browser, chromium, type Page } from "playwright-core";
import { TEST_CREDENTIALS } from "./test-dashboard.js";

/** Headless Chromium with one page, and what went wrong on it. */
export interface TestBrowser {
  browser: Browser;
  page: Page;
  /** Console errors the page logged. */
  consoleErrors: string[];
  /** Loads answered with 400 or more (the login redirect itself is a 303). */
  failedLoads: string[];
  /** A full-page screenshot, kept as a test artefact. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Headless Chromium (`CHROMIUM_PATH`, else the system's), one page, screenshots under `artifacts`. */
export async function openTestBrowser(
  artifacts: string,
  viewport: { width: number; height: number },
): Promise<TestBrowser> {
  await mkdir(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      // The viewer plays a result muted on open, as a click would let it.
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
  const page = await browser.newPage({ viewport });
  const consoleErrors: string[] = [];
  const failedLoads: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400) failedLoads.push(`${response.status()} ${response.url()}`);
  });
  return {
    browser,
    page,
    consoleErrors,
    failedLoads,
    async screenshot(name) {
      await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });
    },
    close: () => browser.close(),
  };
}

/** Logs in with the test credentials on the login page the browser is on; it lands on the queues. */
export async function logIn(page: Page): Promise<void> {
  await page.fill('input[name="username"]', TEST_CREDENTIALS.username);
  await page.fill('input[name="password"]', TEST_CREDENTIALS.password as string);
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/queues\/?$/);
}

/**
 * Bull Board's pages ask for Google Fonts, which the dashboard's CSP blocks on purpose: the console
 * errors left once those are taken out.
 */
export function unexpectedConsoleErrors(errors: readonly string[]): string[] {
  return errors.filter((error) => !error.includes("fonts.googleapis.com"));
}
