import { S3Client } from "@aws-sdk/client-s3";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import type { S3Settings } from "./storage-options.js";

export interface S3ClientOptions {
  /** Only for code that holds credentials itself (tests, embedding): the programs use the AWS chain. */
  credentials?: AwsCredentialIdentity;
  /** Tries per request, the first included (the SDK backs off between them). */
  maxAttempts?: number;
}

/**
 * A client for the store the settings describe. Credentials come from the AWS default chain
 * (environment, the profile named by --s3-profile or AWS_PROFILE, the shared files, container and
 * instance roles). The SDK's extra checksums (CRC32 trailers in aws-chunked bodies) are sent only
 * where an operation requires them: many S3-compatible servers reject those bodies, and uploads
 * are checked with Content-MD5 and ETags instead (see object-upload.ts).
 */
export function createS3Client(settings: S3Settings, options: S3ClientOptions = {}): S3Client {
  return new S3Client({
    region: settings.s3Region,
    ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint } : {}),
    forcePathStyle: settings.s3PathStyle ?? false,
    credentials:
      options.credentials ?? defaultProvider(settings.s3Profile ? { profile: settings.s3Profile } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: options.maxAttempts ?? 3,
  });
}
