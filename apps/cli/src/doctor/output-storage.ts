import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { readRecord } from "@wgp-farm/config";
import { mountOf } from "@wgp-farm/host";
import type { HostRecord } from "@wgp-farm/queue";
import { z } from "zod";
import { type CheckResult, check } from "./check-result.js";
import { probeFolder } from "./writable-folder.js";

/** `<output>/.wgp-farm/hosts/<host>.json`: a host's marker, with the token it also keeps in Redis. */
export const OutputMarkerSchema = z.object({
  host: z.string(),
  token: z.string(),
  written_at: z.string(),
});
export type OutputMarker = z.output<typeof OutputMarkerSchema>;

/** `<output>/.wgp-farm/hosts/<host>.json`: each host's proof that it writes into this folder. */
export function markerFile(outputDir: string, host: string): string {
  return path.join(outputDir, ".wgp-farm", "hosts", `${host.replace(/[^\w.-]/g, "_")}.json`);
}

async function writeMarker(outputDir: string, host: string): Promise<OutputMarker> {
  const marker = { host, token: randomUUID(), written_at: new Date().toISOString() };
  const file = markerFile(outputDir, host);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(marker)}\n`);
  return marker;
}

async function sees(outputDir: string, other: HostRecord): Promise<boolean> {
  // No marker file (ENOENT) means the folder is not shared with that host.
  const text = await readFile(markerFile(outputDir, other.host), "utf8").catch(() => null);
  const marker = readRecord(OutputMarkerSchema, text, "output folder marker");
  return marker !== undefined && marker.token === other.output_marker;
}

const SHARE_FIX =
  "mount the same shared folder (NFS, SMB, CephFS…) at --main-output-dir on every host; otherwise each task's result stays on the host that ran it";

/**
 * The output folder: writable, and on storage every host shares. Each host leaves a marker file
 * with a fresh token there and the token in Redis; seeing another host's current token here proves
 * the folder is shared with it. Hosts that only show up as live workers (no doctor record) can be
 * judged only by the filesystem type.
 */
export async function checkOutputFolder(options: {
  outputDir: string;
  host: string;
  otherHosts: readonly HostRecord[];
  /** Hosts running workers right now (slot registry), doctor records or not. */
  workerHosts: readonly string[];
}): Promise<{ checks: CheckResult[]; marker?: OutputMarker }> {
  const state = await probeFolder(options.outputDir);
  if (!state.writable) {
    return {
      checks: [
        check(
          "folders",
          "output-folder",
          "fail",
          `${state.folder} is not writable (${state.error ?? "no access"})`,
          {
            fix: `create it and let the worker's user write there (mkdir -p ${state.folder}; chown <user> ${state.folder}); on shared storage check the mount and its export options`,
          },
        ),
      ],
    };
  }
  if (!state.exists) {
    return {
      checks: [
        check(
          "folders",
          "output-folder",
          "warn",
          `${state.folder} does not exist (it would be created in ${state.existingParent})`,
          {
            fix: "create it; on a farm, check that the shared storage is mounted there (a missing folder usually means it is not)",
          },
        ),
      ],
    };
  }
  const marker = await writeMarker(state.folder, options.host);
  const mount = await mountOf(state.folder);
  const fs = mount ? `${mount.fsType} at ${mount.mountPoint}` : "unknown filesystem";
  const details = { filesystem: mount ?? null };
  const withMarkers = options.otherHosts.filter(
    (record) => record.output_marker && record.host !== options.host,
  );
  const unseen: string[] = [];
  for (const record of withMarkers) if (!(await sees(state.folder, record))) unseen.push(record.host);
  const unverified = options.workerHosts.filter(
    (host) => host !== options.host && !withMarkers.some((record) => record.host === host),
  );
  const checks = [check("folders", "output-folder", "ok", `${state.folder} writable (${fs})`, { details })];
  if (unseen.length > 0) {
    checks.push(
      check(
        "folders",
        "output-shared",
        "fail",
        `not shared with ${unseen.join(", ")}: their marker files are not here`,
        {
          fix: `${SHARE_FIX}. A host that left the farm: wgp-farm doctor --forget-host <name>`,
          details: { unseen },
        },
      ),
    );
  } else if (unverified.length > 0 && !mount?.network) {
    checks.push(
      check(
        "folders",
        "output-shared",
        "fail",
        `workers run on ${unverified.join(", ")} too, but this folder is on a local ${mount?.fsType ?? "disk"}`,
        {
          fix: `${SHARE_FIX}; then run wgp-farm doctor on every host`,
        },
      ),
    );
  } else if (unverified.length > 0) {
    checks.push(
      check("folders", "output-shared", "warn", `on ${fs}; not confirmed with ${unverified.join(", ")}`, {
        fix: "run wgp-farm doctor on those hosts: each leaves a marker the others look for",
      }),
    );
  } else if (withMarkers.length > 0) {
    checks.push(
      check(
        "folders",
        "output-shared",
        "ok",
        `shared with ${withMarkers.map((r) => r.host).join(", ")} (their marker files are visible here)`,
      ),
    );
  } else {
    const note = mount?.network
      ? "shared storage"
      : "local disk: fine for one host, move it to shared storage before adding hosts";
    checks.push(check("folders", "output-shared", "ok", `the only host seen so far; ${note}`));
  }
  return { checks, marker };
}
