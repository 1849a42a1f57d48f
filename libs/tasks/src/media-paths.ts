import { stat } from "node:fs/promises";
import path from "node:path";
import { hasControlCharacters } from "./text-rules.js";

/** WanGP's virtual-media suffix (`clip.mp4|start_frame=10,end_frame=50`) rides along after the path. */
function splitVirtualSuffix(value: string): { file: string; suffix: string } {
  const bar = value.indexOf("|");
  return bar === -1 ? { file: value, suffix: "" } : { file: value.slice(0, bar), suffix: value.slice(bar) };
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SHA256_FRAGMENT = /^sha256=([0-9a-f]{64})$/i;

/** How media may be given by URL. */
export interface MediaUrlOptions {
  /**
   * Accept `http://` too. Off by default: a plain-HTTP download can be altered on the way, so it is
   * for a private network the operator vouches for (or a `#sha256=` pin on every such URL).
   */
  allowHttp?: boolean;
}

/** A media field given as a URL: `https://…`, `s3://bucket/key`, or `http://…` where allowed. */
export interface MediaUrl {
  scheme: "https" | "http" | "s3";
  /** The URL to fetch: without the `#sha256=` pin and without WanGP's virtual-media suffix. */
  url: string;
  /** The file's expected sha256 (lower-case hex), from a `#sha256=<hex>` fragment. */
  sha256?: string;
  /** WanGP's virtual-media suffix (`|start_frame=…`), handed on after the local path. */
  suffix: string;
}

/** Whether a media value is a URL (of any scheme) rather than a file path. */
export function isMediaUrl(value: string): boolean {
  return URL_SCHEME.test(value);
}

/**
 * A URL as it may appear in logs, errors and records: no user:password, and no query values
 * (a presigned URL's signature and credential are there); the parameter names stay, to tell URLs apart.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.replace(/\?.*$/s, "?…").replace(/\/\/[^/@]*@/, "//…@");
  }
  const hadCredentials = url.username !== "" || url.password !== "";
  url.username = "";
  url.password = "";
  const names = [...new Set(url.searchParams.keys())];
  url.search = "";
  const query = names.length > 0 ? `?${names.map((name) => `${name}=…`).join("&")}` : "";
  const hash = url.hash;
  url.hash = "";
  const bare = hadCredentials ? url.toString().replace("//", "//…@") : url.toString();
  return `${bare}${query}${hash}`;
}

/** A media URL split into what to fetch, its pin and its suffix, or why it cannot be used. */
export function parseMediaUrl(raw: string, options: MediaUrlOptions = {}): MediaUrl | { problem: string } {
  const { file, suffix } = splitVirtualSuffix(raw);
  const shown = redactUrl(file);
  const scheme = URL_SCHEME.exec(file)?.[1]?.toLowerCase();
  if (scheme !== "https" && scheme !== "s3" && !(scheme === "http" && options.allowHttp)) {
    const http =
      scheme === "http" ? " (plain http:// only with --allow-http-media, for a private network)" : "";
    return { problem: `'${shown}': media URLs must be https:// or s3://${http}` };
  }
  let url: URL;
  try {
    url = new URL(file);
  } catch {
    return { problem: `'${shown}' is not a valid URL` };
  }
  if (url.username || url.password) {
    return {
      problem: `'${shown}' carries credentials (user:password@): give them to the workers, never in a task`,
    };
  }
  let sha256: string | undefined;
  if (url.hash) {
    const pin = SHA256_FRAGMENT.exec(url.hash.slice(1));
    if (!pin?.[1])
      return { problem: `'${shown}': the only fragment a media URL takes is #sha256=<64 hex digits>` };
    sha256 = pin[1].toLowerCase();
    url.hash = "";
  }
  if (scheme === "s3" && (url.hostname === "" || url.pathname.length <= 1)) {
    return { problem: `'${shown}': an S3 media URL is s3://bucket/key` };
  }
  return { scheme, url: url.toString(), ...(sha256 ? { sha256 } : {}), suffix };
}

export interface ResolvedMediaPath {
  /** The absolute path or the URL (with the virtual-media suffix, if any), as stored in the task. */
  value: string;
  /** Why the path cannot be used, or undefined. */
  problem?: string;
}

/**
 * Makes a media path absolute (relative paths resolve against `baseDir`, the tasks file's folder or
 * --media-root) and checks, when asked, that the file exists: WanGP would otherwise fail only after
 * a GPU slot has loaded the model. A URL is checked for its form only: the importer's URL check asks
 * the server, and each worker fetches it into its input cache.
 */
export async function resolveMediaPath(
  raw: string,
  baseDir: string,
  checkExists: boolean,
  urlOptions: MediaUrlOptions = {},
): Promise<ResolvedMediaPath> {
  if (hasControlCharacters(raw)) return { value: raw, problem: "must not contain control characters" };
  if (isMediaUrl(raw)) {
    const parsed = parseMediaUrl(raw, urlOptions);
    return "problem" in parsed ? { value: raw, problem: parsed.problem } : { value: raw };
  }
  const { file, suffix } = splitVirtualSuffix(raw);
  const absolute = path.resolve(baseDir, file);
  const value = absolute + suffix;
  if (!checkExists) return { value };
  try {
    const info = await stat(absolute);
    if (!info.isFile()) return { value, problem: `${absolute} is not a file` };
    return { value };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const resolvedFrom = path.isAbsolute(file) ? "" : ` (resolved from '${file}' against ${baseDir})`;
    if (code === "ENOENT" || code === "ENOTDIR")
      return { value, problem: `file not found: ${absolute}${resolvedFrom}` };
    return { value, problem: `cannot read ${absolute}: ${code ?? String(error)}` };
  }
}
