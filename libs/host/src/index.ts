export { GpuQueryError, HostLockTimeoutError } from "./errors.js";
export { findExecutable } from "./executable.js";
export { FileInUse, removeUnlessInUse } from "./file-use.js";
export { type GpuInfo, listGpus, parseGpuQuery } from "./gpu-inventory.js";
export {
  HostLock,
  type HostLockOptions,
  type LockHolder,
  LockHolderSchema,
  processIsAlive,
} from "./host-lock.js";
export { type HostMemory, readHostMemory } from "./host-memory.js";
export { type MountInfo, mountOf, NETWORK_FS_TYPES, parseMountInfo } from "./mount-info.js";
export { CommandFailedError, type CommandOutput, runCommand } from "./run-command.js";
