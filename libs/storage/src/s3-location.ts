import { ConfigError } from "@wgp-farm/config";

/** Where results go in a bucket: `s3://bucket/prefix` (the prefix is empty or ends without a slash). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Url(text: string): boolean {
  return text.startsWith("s3://");
}

/** Reads `s3://bucket/prefix`; `setting` names the option in the error (`--output-store`). */
export function parseS3Url(text: string, setting = "the S3 location"): S3Location {
  if (!isS3Url(text)) throw new ConfigError(`${setting}: '${text}' is not an s3://bucket/prefix URL`);
  const [bucket = "", ...rest] = text.slice("s3://".length).split("/");
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigError(`${setting}: '${bucket}' is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  }
  const parts = rest.filter((part) => part !== "");
  if (parts.some((part) => part === "." || part === "..")) {
    throw new ConfigError(`${setting}: the prefix of '${text}' must not contain . or .. parts`);
  }
  return { bucket, prefix: parts.join("/") };
}

/** The key of `relative` (a `/`-separated path) under the location's prefix. */
export function keyUnder(location: S3Location, ...relative: string[]): string {
  return [location.prefix, ...relative]
    .flatMap((part) => part.split("/"))
    .filter((part) => part !== "")
    .join("/");
}

export function s3UrlOf(location: S3Location, key = location.prefix): string {
  return `s3://${location.bucket}/${key}`;
}
