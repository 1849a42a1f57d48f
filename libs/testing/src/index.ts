import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** A key prefix no other test uses, so tests share one Redis without seeing each other. */
export function uniquePrefix(label = "t"): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A fresh temporary folder and a function that removes it. */
export async function temporaryDir(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `wgp-farm-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export {
  importTestTasks,
  quarantineTestTask,
  startTestWorker,
  type TestTask,
  testManifest,
  waitUntil,
} from "./farm-fixtures.js";
export { testSlotStatus } from "./farm-records.js";
export {
  copyOfFakeWangp,
  EXAMPLE_TASKS,
  FAKE_NVIDIA_SMI,
  FAKE_WANGP_ROOT,
  WGP_FARM_BIN,
} from "./fixture-paths.js";
export { readJsonLines } from "./json-lines.js";
export { type MediaServer, type ServedMedia, startMediaServer } from "./media-server.js";
export { probeVideo, type VideoProbe } from "./video-probe.js";
