export {
  CANCEL_REQUEST_TTL_MS,
  CancelChannel,
  type CancelRequest,
} from "./cancel-channel.js";
export {
  CANCELLED_REASON_PREFIX,
  type CancelledTaskRecord,
  type CancelOutcome,
  type CancelTaskResult,
  cancelTask,
} from "./cancel-task.js";
export { readCancelledRecord, readCancelledRecords } from "./cancelled-records.js";
export { formatDuration, parseDuration } from "./durations.js";
export { FarmConnection } from "./farm-connection.js";
export {
  DEFAULT_PREFIX,
  FarmKeys,
  MODEL_QUEUE_PREFIX,
  modelOfQueue,
  modelQueueName,
  QUARANTINE_QUEUE,
} from "./farm-keys.js";
export { FARM_COUNTERS, type FarmCounter, FarmStats } from "./farm-stats.js";
export { type FarmStatus, readFarmStatus, slotBusyRatio } from "./farm-status.js";
export { type HostRecord, HostRecords } from "./host-records.js";
export {
  emptyImportReport,
  type FileError,
  type ImportedEntry,
  type ImportReport,
  type InvalidEntry,
  type SkippedEntry,
  type WarningEntry,
} from "./import-report.js";
export { ModelQueues } from "./model-queues.js";
export {
  type AttemptOutcome,
  type AttemptRecord,
  QUARANTINED_REASON_PREFIX,
  type QuarantinedJobData,
  type QuarantineInfo,
} from "./quarantine-record.js";
export {
  type QueueCounts,
  type QueueOverview,
  readQueueOverview,
  readQueueOverviews,
} from "./queue-overview.js";
export {
  type QueuePauseState,
  resolveModels,
  setModelQueuesPaused,
  UnknownModelError,
} from "./queue-pause.js";
export {
  type ConnectRedisOptions,
  connectRedis,
  DEFAULT_REDIS_URL,
  RedisUnreachableError,
  redactRedisUrl,
} from "./redis-connection.js";
export {
  assessRedisForQueue,
  compareVersions,
  hasHashTag,
  parseInfo,
  REDIS_MINIMUM_VERSION,
  REDIS_RECOMMENDED_VERSION,
  type RedisFinding,
  type RedisServerFacts,
  readRedisFacts,
} from "./redis-health.js";
export {
  findFreePort,
  RedisServerMissingError,
  type RedisServerOptions,
  RedisServerProcess,
} from "./redis-server-process.js";
export { RedisTaskSink } from "./redis-task-sink.js";
export { redisStepMs, settleWithin } from "./settle-within.js";
export { type JobProgress, SlotRegistry, type SlotState, type SlotStatus } from "./slot-registry.js";
export {
  CLEANABLE_STATES,
  type CleanableState,
  type CleanedTask,
  type CleanOptions,
  type CleanReport,
  cleanTasks,
  type RemoveJobsOptions,
  removeQueueJobs,
} from "./task-cleaner.js";
export { TaskFileWatcher, type TaskFileWatcherOptions } from "./task-file-watcher.js";
export {
  DryRunTaskSink,
  type ImportOptions,
  type ImportProgress,
  type PendingTask,
  recordInvalid,
  TaskImporter,
  type TaskSink,
} from "./task-importer.js";
export { type RemovedTask, TaskIndex } from "./task-index.js";
export {
  DEFAULT_RETRY_POLICY,
  jobNameFor,
  jobOptionsFor,
  type RetryPolicy,
  type TaskImportInfo,
  type TaskJobData,
} from "./task-job.js";
export { type ListTasksOptions, listTasks } from "./task-listing.js";
export { type FindTaskOptions, findTask, findTaskJob, type TaskDetails } from "./task-lookup.js";
export { type RetryOutcome, type RetryResult, retryAllFailed, retryTask } from "./task-retry.js";
export {
  importTaskSource,
  openTaskSource,
  type SourceImportOptions,
  type TaskSource,
  TaskSourceError,
} from "./task-source.js";
export {
  ALL_JOB_TYPES,
  JOB_TYPES_OF_FILTER,
  TASK_STATE_FILTERS,
  type TaskState,
  type TaskStateFilter,
  taskStateOfJob,
} from "./task-state.js";
export {
  type AttemptError,
  attemptErrors,
  isoTime,
  modelOfJob,
  percentOf,
  summarizeJob,
  type TaskSummary,
} from "./task-summary.js";
