import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { readRecord } from "@wgp-farm/config";
import { runCommand } from "@wgp-farm/host";
import { z } from "zod";

export interface WangpCheckout {
  root: string;
  isDirectory: boolean;
  hasApi: boolean;
  hasSettingsFolder: boolean;
  /** `WanGP_version` from wgp.py (read, not imported: importing wgp needs a GPU). */
  version?: string;
  commit?: string;
  /** Tracked files changed since the commit. */
  modified?: boolean;
  /** wgp_config.json of the root, when present and readable. */
  config?: Record<string, unknown>;
}

async function exists(file: string, kind: "file" | "dir"): Promise<boolean> {
  try {
    const info = await stat(file);
    return kind === "file" ? info.isFile() : info.isDirectory();
  } catch {
    return false;
  }
}

async function readVersion(root: string): Promise<string | undefined> {
  try {
    const source = await readFile(path.join(root, "wgp.py"), "utf8");
    return /^WanGP_version\s*=\s*["']([^"']+)["']/m.exec(source)?.[1];
  } catch {
    return undefined;
  }
}

async function readGitState(root: string): Promise<{ commit?: string; modified?: boolean }> {
  if (!(await exists(path.join(root, ".git"), "dir")) && !(await exists(path.join(root, ".git"), "file"))) {
    return {};
  }
  try {
    const head = await runCommand("git", ["-C", root, "rev-parse", "HEAD"]);
    const status = await runCommand("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"]);
    return { commit: head.stdout.trim(), modified: status.stdout.trim() !== "" };
  } catch {
    return {};
  }
}

/** WanGP's own settings file: an object of its settings (doctor reads a few of them). */
const WangpConfigSchema = z.record(z.string(), z.unknown());

async function readConfig(root: string): Promise<Record<string, unknown> | undefined> {
  // A checkout that never ran WanGP has no config file yet.
  const text = await readFile(path.join(root, "wgp_config.json"), "utf8").catch(() => null);
  return readRecord(WangpConfigSchema, text, "wgp_config.json");
}

export async function inspectWangpCheckout(root: string): Promise<WangpCheckout> {
  const resolved = path.resolve(root);
  const isDirectory = await exists(resolved, "dir");
  if (!isDirectory) return { root: resolved, isDirectory, hasApi: false, hasSettingsFolder: false };
  const [hasApi, hasSettingsFolder, version, git, config] = await Promise.all([
    exists(path.join(resolved, "shared", "api.py"), "file"),
    exists(path.join(resolved, "settings"), "dir"),
    readVersion(resolved),
    readGitState(resolved),
    readConfig(resolved),
  ]);
  return {
    root: resolved,
    isDirectory,
    hasApi,
    hasSettingsFolder,
    ...(version ? { version } : {}),
    ...git,
    ...(config ? { config } : {}),
  };
}
