export { Bucket, type BucketOptions, type ListedObject } from "./bucket.js";
export { BucketResults, type ResultLink } from "./bucket-results.js";
export { headObject, presignedLink, type StoredObject } from "./object-links.js";
export { type FileUpload, SHA256_METADATA, uploadFile } from "./object-upload.js";
export { createS3Client, type S3ClientOptions } from "./s3-client.js";
export { isS3Url, keyUnder, parseS3Url, type S3Location, s3UrlOf } from "./s3-location.js";
export {
  explainStoreError,
  IntegrityError,
  type StoreContext,
  StoreSetupError,
  StoreUnavailableError,
} from "./storage-errors.js";
export {
  checkPartSize,
  DEFAULT_LINK_TTL_MS,
  DEFAULT_PART_SIZE,
  LINK_TTL_OPTION,
  MIN_PART_SIZE,
  OUTPUT_STORE_OPTION,
  S3_ACCESS_OPTION_SET,
  type S3Settings,
  STORAGE_OPTION_SET,
} from "./storage-options.js";
