export { findExecutable } from "./executable.js";
export { type GpuInfo, GpuQueryError, listGpus, parseGpuQuery } from "./gpu-inventory.js";
export {
  HostLock,
  type HostLockOptions,
  HostLockTimeoutError,
  type LockHolder,
  processIsAlive,
} from "./host-lock.js";
export { type HostMemory, readHostMemory } from "./host-memory.js";
export { type MountInfo, mountOf, NETWORK_FS_TYPES, parseMountInfo } from "./mount-info.js";
export { CommandFailedError, type CommandOutput, runCommand } from "./run-command.js";
