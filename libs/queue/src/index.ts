export { FarmConnection } from "./farm-connection.js";
export {
  DEFAULT_PREFIX,
  FarmKeys,
  MODEL_QUEUE_PREFIX,
  modelOfQueue,
  modelQueueName,
  QUARANTINE_QUEUE,
} from "./farm-keys.js";
export { type HostRecord, HostRecords } from "./host-records.js";
export {
  emptyImportReport,
  type ImportedEntry,
  type ImportReport,
  type InvalidEntry,
  type SkippedEntry,
  type WarningEntry,
} from "./import-report.js";
export { ModelQueues } from "./model-queues.js";
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
export {
  DryRunTaskSink,
  type ImportOptions,
  type ImportProgress,
  type PendingTask,
  TaskImporter,
  type TaskSink,
} from "./task-importer.js";
export {
  DEFAULT_RETRY_POLICY,
  jobNameFor,
  jobOptionsFor,
  type RetryPolicy,
  type TaskImportInfo,
  type TaskJobData,
} from "./task-job.js";
