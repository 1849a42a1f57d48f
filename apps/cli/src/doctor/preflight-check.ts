import { readRecord } from "@wgp-farm/config";
import { CommandFailedError, findExecutable, runCommand } from "@wgp-farm/host";
import { z } from "zod";
import { type CheckResult, check } from "./check-result.js";

/** engine-py's pre-flight report (`python -m wgp_bridge.preflight`, engine-py/PROTOCOL.md "Pre-flight"). */
const PreflightReportSchema = z.object({
  wangp_version: z.string().nullable(),
  mmgp_required: z.string().nullable(),
  mmgp_installed: z.string().nullable(),
  ok: z.boolean(),
  checks: z.array(
    z.object({
      name: z.string(),
      status: z.enum(["ok", "warn", "fail", "skip"]),
      message: z.string(),
      fix: z.string().nullable(),
    }),
  ),
});
export type PreflightReport = z.output<typeof PreflightReportSchema>;

/** Pre-flight checks the doctor already makes itself (checkout, settings/, ffmpeg): not shown twice. */
const COVERED_BY_DOCTOR = new Set(["checkout", "settings", "ffmpeg", "ffprobe"]);

/**
 * The pre-flight the engine runs before it imports WanGP (mmgp pin vs installed, root config keys,
 * plugins in the GPU configs), run with WanGP's own Python, so that doctor says what would make every
 * slot die at start-up (a wrong mmgp is an opaque `SystemExit(None)` there).
 */
export async function checkPreflight(
  python: string,
  wangpRoot: string,
  enginePyDir: string,
  gpuConfigs: readonly string[] = [],
  timeoutMs = 60_000,
): Promise<CheckResult[]> {
  const executable = await findExecutable(python);
  if (!executable) return []; // the python check already says so
  const args = ["-m", "wgp_bridge.preflight", "--wangp-root", wangpRoot];
  for (const config of gpuConfigs) args.push("--config", config);
  const inherited = process.env.PYTHONPATH;
  const env = { ...process.env, PYTHONPATH: inherited ? `${enginePyDir}:${inherited}` : enginePyDir };
  let stdout: string;
  try {
    ({ stdout } = await runCommand(executable, args, { env, timeoutMs }));
  } catch (error) {
    // Exit 1 means "a check failed": the report is still on stdout.
    stdout = error instanceof CommandFailedError ? error.stdout : "";
    if (!stdout) return [preflightDidNotRun(error)];
  }
  const report = readRecord(PreflightReportSchema, stdout, "pre-flight report");
  if (!report) return [preflightDidNotRun(new Error("it printed no report"))];
  return preflightChecks(report);
}

export function preflightChecks(report: PreflightReport): CheckResult[] {
  return report.checks
    .filter((item) => !COVERED_BY_DOCTOR.has(item.name) && item.status !== "skip")
    .map((item) =>
      check("wangp", `preflight-${item.name}`, item.status, item.message, {
        ...(item.fix ? { fix: item.fix } : {}),
        ...(item.name === "mmgp"
          ? { details: { required: report.mmgp_required, installed: report.mmgp_installed } }
          : {}),
      }),
    );
}

function preflightDidNotRun(error: unknown): CheckResult {
  const reason = error instanceof Error ? error.message : String(error);
  return check("wangp", "preflight", "warn", `the engine's pre-flight did not run: ${reason.slice(-300)}`, {
    fix: "run it by hand to see why: PYTHONPATH=<wgp-farm>/engine-py <python> -m wgp_bridge.preflight --wangp-root <root>",
  });
}
