/** ok: fine. warn: works, but not as it should for a farm. fail: blocks work. skip: not checked. */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export type CheckGroup = "redis" | "wangp" | "gpu" | "tools" | "folders" | "store";

export interface CheckResult {
  id: string;
  group: CheckGroup;
  status: CheckStatus;
  summary: string;
  /** What to do about it; present whenever status is warn or fail. */
  fix?: string;
  details?: Record<string, unknown>;
}

export interface DoctorReport {
  /** False when any check failed: this host cannot do its work until that is fixed. */
  ok: boolean;
  host: string;
  engine: "wangp" | "dry-run";
  checked_at: string;
  checks: CheckResult[];
}

export function check(
  group: CheckGroup,
  id: string,
  status: CheckStatus,
  summary: string,
  extra: { fix?: string; details?: Record<string, unknown> } = {},
): CheckResult {
  return { id, group, status, summary, ...extra };
}
