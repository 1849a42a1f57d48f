import { UserError } from "@wgp-farm/config";
import type { LockHolder } from "./host-lock.js";

/** nvidia-smi is missing or answered something unreadable. */
export class GpuQueryError extends UserError {
  override name = "GpuQueryError";
  constructor(
    message: string,
    /** True when nvidia-smi is not installed at all (no NVIDIA driver on this machine). */
    readonly missing: boolean,
  ) {
    super(message);
  }
}

/** A host lock stayed busy for longer than the caller would wait. */
export class HostLockTimeoutError extends UserError {
  override name = "HostLockTimeoutError";
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
  }
}
