export { Bucket, type BucketOptions, type ListedObject } from "./bucket.js";
export { BucketResults, type ResultLink } from "./bucket-results.js";
export { type CopyPart, copyObject, copyPartPlan, type ObjectCopy } from "./object-copy.js";
export { headObject, presignedLink, type StoredObject } from "./object-links.js";
export { type FileUpload, SHA256_METADATA, uploadFile } from "./object-upload.js";
export { createS3Client, type S3ClientOptions } from "./s3-client.js";
export { isS3Url, keyUnder, parseS3Url, resultFileOf, type S3Location, s3UrlOf } from "./s3-location.js";
export {
  explainStoreError,
  IntegrityError,
  type StoreContext,
  StoreSetupError,
  type StoreSetupProblem,
  StoreUnavailableError,
  storeErrorCode,
} from "./storage-errors.js";
export {
  checkPartSize,
  DEFAULT_COPY_PART_SIZE,
  DEFAULT_LINK_TTL_MS,
  DEFAULT_PART_SIZE,
  LINK_TTL_OPTION,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  MULTIPART_COPY_THRESHOLD,
  OUTPUT_STORE_OPTION,
  S3_ACCESS_OPTION_SET,
  type S3Settings,
  STORAGE_OPTION_SET,
} from "./storage-options.js";
