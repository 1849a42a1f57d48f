import type { CheckGroup, CheckStatus, DoctorReport } from "../doctor/check-result.js";
import { plural } from "./format.js";

const GROUP_TITLES: Record<CheckGroup, string> = {
  redis: "Redis",
  wangp: "WanGP",
  gpu: "GPUs and memory",
  tools: "Tools",
  folders: "Folders",
  store: "Result store",
};

const STATUS_LABELS: Record<CheckStatus, string> = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" };

/** The doctor's report as a person reads it: one line per check, the fix under each problem. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines = [`wgp-farm doctor: host ${report.host}, engine ${report.engine}`];
  const idWidth = Math.max(...report.checks.map((c) => c.id.length));
  for (const group of Object.keys(GROUP_TITLES) as CheckGroup[]) {
    const checks = report.checks.filter((c) => c.group === group);
    if (checks.length === 0) continue;
    lines.push("", GROUP_TITLES[group]);
    for (const c of checks) {
      lines.push(`  ${STATUS_LABELS[c.status]}  ${c.id.padEnd(idWidth)}  ${c.summary}`);
      if (c.fix && (c.status === "warn" || c.status === "fail")) {
        lines.push(`        ${" ".repeat(idWidth)}  fix: ${c.fix}`);
      }
    }
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const warned = report.checks.filter((c) => c.status === "warn").length;
  lines.push("");
  if (failed > 0) {
    lines.push(
      `${plural(failed, "check")} failed, ${plural(warned, "warning")}: this host cannot do its work until the failures are fixed.`,
    );
  } else if (warned > 0) {
    lines.push(
      `No failure, ${plural(warned, "warning")}: this host can work; the warnings say what to improve.`,
    );
  } else {
    lines.push("Every check passed.");
  }
  return lines.join("\n");
}
