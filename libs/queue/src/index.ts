export {
  RedisServerMissingError,
  RedisUnreachableError,
  TaskSourceError,
  UnknownModelError,
  UnknownQueueError,
} from "./errors.js";
export {
  type FarmTaskFact,
  FLOW_FAILURE_OPTIONS,
  type FlowNode,
  type FlowPlan,
  hasFlowFields,
  type PlannedFlow,
  planFlows,
} from "./intake/flow-plan.js";
export {
  emptyImportReport,
  type FileError,
  type ImportedEntry,
  type ImportReport,
  type InvalidEntry,
  type SkippedEntry,
  type WarningEntry,
} from "./intake/import-report.js";
export { RedisFlowSink } from "./intake/redis-flow-sink.js";
export { RedisTaskSink } from "./intake/redis-task-sink.js";
export { confirmOnReplica, REPLICA_ACK_TIMEOUT_MS, ReplicaAckError } from "./intake/replica-ack.js";
export { TaskFileWatcher, type TaskFileWatcherOptions } from "./intake/task-file-watcher.js";
export type { FlowSink, PendingFlowTask } from "./intake/task-importer.js";
export {
  DryRunTaskSink,
  type ImportOptions,
  type ImportProgress,
  type PendingTask,
  recordInvalid,
  TaskImporter,
  type TaskSink,
} from "./intake/task-importer.js";
export {
  importTaskSource,
  openTaskSource,
  type SourceImportOptions,
  type TaskSource,
} from "./intake/task-source.js";
export { DEFAULT_MAX_INPUT_BYTES, UrlCheck, type UrlCheckOptions } from "./intake/url-check.js";
export {
  HttpProbe,
  InputNotThereError,
  type InputProbe,
  InputUnreachableError,
  importerProbes,
  S3Probe,
} from "./intake/url-check-probes.js";
export { type CancelOutcome, type CancelTaskResult, cancelTask } from "./operations/cancel-task.js";
export { formatDuration, parseDuration } from "./operations/durations.js";
export {
  type FarmStatus,
  type ModelDemand,
  readFarmStatus,
  readModelDemand,
  slotBusyRatio,
} from "./operations/farm-status.js";
export {
  dependantsOf,
  type FlowLink,
  failWaitingFlowJobs,
  isFlowJob,
  restoreDependants,
} from "./operations/flow-cascade.js";
export { type ResolvedInputs, resolveOutputRefs } from "./operations/flow-inputs.js";
export {
  dependencyFailureOf,
  describeFlowFailure,
  type FirstFailure,
  type FlowTreeNode,
  firstFailedDependencyOf,
  firstFailureOf,
  flowFailureReason,
  readFlowTree,
} from "./operations/flow-tree.js";
export {
  type PostprocessOutcome,
  type PostprocessResult,
  postprocessTask,
} from "./operations/postprocess-task.js";
export {
  QUEUE_COUNT_STATES,
  type QueueCounts,
  type QueueOverview,
  readQueueOverview,
  readQueueOverviews,
} from "./operations/queue-overview.js";
export {
  type QueuePauseState,
  type QueueSelection,
  resolveModels,
  resolveQueues,
  setQueuesPaused,
} from "./operations/queue-pause.js";
export {
  CLEANABLE_STATES,
  type CleanableState,
  type CleanedTask,
  type CleanOptions,
  type CleanReport,
  cleanTasks,
  type RemoveJobsOptions,
  type ResultsCleanReport,
  removeQueueJobs,
  type StoredResults,
} from "./operations/task-cleaner.js";
export { type ListTasksOptions, listTasks } from "./operations/task-listing.js";
export { type FindTaskOptions, findTask, findTaskJob, type TaskDetails } from "./operations/task-lookup.js";
export { type RetryOutcome, type RetryResult, retryAllFailed, retryTask } from "./operations/task-retry.js";
export { backfillSearchIndex, type SearchTasksOptions, searchTasks } from "./operations/task-search.js";
export {
  ALL_JOB_TYPES,
  JOB_TYPES_OF_FILTER,
  TASK_STATE_FILTERS,
  type TaskState,
  type TaskStateFilter,
  taskStateOfJob,
} from "./operations/task-state.js";
export {
  type AttemptError,
  attemptErrors,
  isoTime,
  modelOfJob,
  percentOf,
  summarizeJob,
  type TaskSummary,
} from "./operations/task-summary.js";
export {
  CANCEL_REQUEST_TTL_MS,
  CancelChannel,
  type CancelRequest,
  CancelRequestSchema,
} from "./records/cancel-channel.js";
export {
  CANCELLED_REASON_PREFIX,
  type CancelledTaskRecord,
  CancelledTaskRecordSchema,
  readCancelledRecord,
  readCancelledRecords,
} from "./records/cancelled-records.js";
export { FarmConnection } from "./records/farm-connection.js";
export {
  compareEventIds,
  DEFAULT_EVENT_LOG_MAX,
  ENGINE_RESTART_STEPS,
  type EngineRestartStep,
  eventLogMax,
  FARM_EVENT_STATES,
  type FarmEvent,
  type FarmEventBody,
  FarmEventBodySchema,
  type FarmEventInput,
  type FarmEventState,
  FarmEvents,
  isEventId,
  parseEntries,
  type StreamEntry,
} from "./records/farm-events.js";
export {
  DEFAULT_PREFIX,
  FarmKeys,
  MODEL_QUEUE_PREFIX,
  modelOfQueue,
  modelQueueName,
  QUARANTINE_QUEUE,
} from "./records/farm-keys.js";
export { FARM_COUNTERS, type FarmCounter, FarmStats } from "./records/farm-stats.js";
export {
  farmWangpKnowledge,
  type HostCatalog,
  HostCatalogSchema,
  HostCatalogs,
  type HostWangpSummary,
  hostCatalogId,
  hostWangpSummary,
  modelsNoHostKnows,
  readFarmWangpKnowledge,
} from "./records/host-catalogs.js";
export { type HostRecord, HostRecordSchema, HostRecords } from "./records/host-records.js";
export {
  type LostAttempt,
  LostAttemptSchema,
  LostAttempts,
} from "./records/lost-attempts.js";
export { ModelBacklog, type ModelBacklogEntry } from "./records/model-backlog.js";
export { ModelQueues } from "./records/model-queues.js";
export {
  FENCING_RECORD_TTL_MS,
  type PublishClaim,
  type PublishClaimRequest,
  PublishClaimSchema,
  PublishClaims,
} from "./records/publish-claims.js";
export {
  type AttemptOutcome,
  type AttemptRecord,
  QUARANTINED_REASON_PREFIX,
  type QuarantinedJobData,
  type QuarantineInfo,
} from "./records/quarantine-record.js";
export { QUEUE_SAMPLE_EVERY_MS, type QueueSample, QueueSamples } from "./records/queue-samples.js";
export {
  type JobProgress,
  JobProgressSchema,
  SERVING_STATES,
  SLOT_STATES,
  SlotRegistry,
  type SlotState,
  type SlotStatus,
  SlotStatusSchema,
} from "./records/slot-registry.js";
export {
  isStepFolderName,
  POST_STEP_KINDS,
  POST_STEP_MODEL_PREFIX,
  type PostStep,
  type PostStepKind,
  postStepKindOf,
  postStepModelType,
  type SourceRef,
  STITCH_QUEUE,
  type StepJobData,
  type StitchJobData,
  stepJobId,
  stepOutputSubDir,
} from "./records/step-job.js";
export { type RemovedTask, TaskIndex } from "./records/task-index.js";
export {
  DEFAULT_RETRY_POLICY,
  jobNameFor,
  jobOptionsFor,
  type RetryPolicy,
  type TaskImportInfo,
  type TaskJobData,
} from "./records/task-job.js";
export { type SearchDoc, type SearchQuery, TaskSearchIndex } from "./records/task-search-index.js";
export {
  DELIVERY_ATTEMPT_COLUMNS,
  DELIVERY_LOG_LENGTH,
  type DeliveryAttempt,
  DeliveryAttemptSchema,
  DeliveryLog,
  deliveryAttemptCells,
  readWebhookSubscriptions,
  TASK_WEBHOOK_SUBSCRIPTION,
  type WebhookSubscription,
  WebhookSubscriptionSchema,
} from "./records/webhook-delivery-log.js";
export {
  attemptsWithin,
  backoffDelay,
  DEFAULT_WEBHOOK_RETRY,
  type DeliveryJobData,
  deliveryIdOf,
  deliveryJobOptions,
  sendAgain,
  WEBHOOK_BACKOFF,
  WEBHOOK_QUEUE,
  type WebhookRetryPolicy,
  webhookQueueOf,
} from "./records/webhook-delivery-queue.js";
export {
  idleRosterKey,
  readWorkEntry,
  type WorkEntry,
  type WorkReason,
  WorkSignal,
  workBroadcastKey,
  workInboxKey,
} from "./records/work-signal.js";
export {
  type ConnectRedisOptions,
  connectRedis,
  DEFAULT_REDIS_URL,
  redisErrorListener,
  redisIsDown,
} from "./redis/redis-connection.js";
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
} from "./redis/redis-health.js";
export {
  findFreePort,
  type RedisServerOptions,
  RedisServerProcess,
} from "./redis/redis-server-process.js";
export { defineScript, type RedisScript, RedisStore } from "./redis/redis-store.js";
export {
  isSentinelUrl,
  parseSentinelUrl,
  type RedisTarget,
  redactRedisUrl,
  redisTargetOf,
  SENTINEL_SCHEME,
} from "./redis/redis-url.js";
export { redisStepMs, settleWithin } from "./redis/settle-within.js";
