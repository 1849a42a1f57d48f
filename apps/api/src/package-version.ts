import { readFileSync } from "node:fs";

/** The version of this package (its package.json sits one level above both src/ and dist/). */
export const API_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
