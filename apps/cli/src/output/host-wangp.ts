import type { FarmStatus } from "@wgp-farm/queue";
import { formatTable } from "./format.js";

/** `wgp-farm status`: the WanGP of each live host, and the models no live host knows. */
export function formatHostWangp(status: Pick<FarmStatus, "wangp_hosts" | "models_without_host">): string[] {
  const sections: string[] = [];
  if (status.wangp_hosts.length > 0) {
    const versions = new Set(status.wangp_hosts.map((host) => host.version));
    const rows = status.wangp_hosts.map((host) => [
      host.host,
      host.version ?? "?",
      host.mmgp_version ?? "?",
      String(host.model_types),
      host.preflight === null ? "" : host.preflight.problems.join("; ") || "ok",
      host.wangp_root,
    ]);
    const mixed = versions.size > 1 ? " (hosts differ: an upgrade in progress?)" : "";
    sections.push(
      `WanGP${mixed}\n${formatTable(["HOST", "VERSION", "MMGP", "MODELS", "PRE-FLIGHT", "ROOT"], rows)}`,
    );
  }
  for (const model of status.models_without_host) {
    sections.push(`model.${model}: waiting for a host that knows ${model} (no live host's WanGP has it)`);
  }
  return sections;
}
