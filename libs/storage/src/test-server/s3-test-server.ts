import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { execa, type ResultPromise } from "execa";
import { createS3Client } from "../s3-client.js";
import type { S3Settings } from "../storage-options.js";

/** The only credentials s3rver accepts; anything else is refused with InvalidAccessKeyId. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

const LISTENING = /S3rver listening on [^:]+:(\d+)/;
const START_TIMEOUT_MS = 20_000;

/**
 * The fork's program (@20minutes/s3rver): its CLI module, as its package names a bin file it does
 * not ship. Its parser reads `process.argv` from the third entry on, as for a script; `--eval`
 * leaves one out.
 */
function forkMain(): string {
  const cli = createRequire(import.meta.url).resolve("@20minutes/s3rver/lib/cli.js");
  return `require(${JSON.stringify(cli)})
    .parseAsync([process.argv[0], "s3rver", ...process.argv.slice(1)])
    .catch((error) => { console.error(error); process.exit(1); });`;
}

/** s3rver 3.7.1 as it ships (a bin script). */
function originalMain(): string[] {
  return [createRequire(import.meta.url).resolve("s3rver/bin/s3rver.js")];
}

export interface S3TestServerOptions {
  /** Where the objects live; default: a fresh temporary folder, removed by `stop({ removeData })`. */
  dataDir?: string;
  /** Default: a free port. `restart` keeps the port. */
  port?: number;
  /** Buckets to create at start. */
  buckets?: string[];
  /**
   * Runs the @20minutes fork of s3rver, which implements UploadPartCopy (multipart copies), instead
   * of s3rver 3.7.1, which answers NotImplemented to it. Only for copies: the fork refuses every
   * bucket listing of the AWS SDK (SignatureDoesNotMatch), and Bucket.open lists.
   */
  withUploadPartCopy?: boolean;
}

/**
 * A real S3-compatible server for tests: s3rver (npm), run as its own process on loopback so that a
 * test can kill it mid-upload and start it again on the same port and data. Path-style addressing,
 * signature v4 checked against S3RVER_CREDENTIALS. What it does not do that AWS S3 does is listed in
 * docs/operations.md (no Content-MD5 or x-amz-checksum verification, no conditional writes, no
 * versioning, no multipart copy but in the fork, see `withUploadPartCopy`).
 */
export class S3TestServer {
  readonly dataDir: string;
  readonly #ownsDataDir: boolean;
  readonly #buckets: string[];
  readonly #withUploadPartCopy: boolean;
  #port: number;
  #process: ResultPromise | undefined;

  private constructor(dataDir: string, ownsDataDir: boolean, options: S3TestServerOptions) {
    this.dataDir = dataDir;
    this.#ownsDataDir = ownsDataDir;
    this.#port = options.port ?? 0;
    this.#buckets = options.buckets ?? [];
    this.#withUploadPartCopy = options.withUploadPartCopy ?? false;
  }

  static async start(options: S3TestServerOptions = {}): Promise<S3TestServer> {
    const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "wgp-farm-s3rver-")));
    const server = new S3TestServer(dataDir, !options.dataDir, options);
    await server.#spawn();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Settings of a client of this server (credentials: S3RVER_CREDENTIALS or `env`). */
  get settings(): S3Settings {
    return { s3Endpoint: this.endpoint, s3Region: "us-east-1", s3PathStyle: true };
  }

  /** The environment a farm program needs to use this server (credentials by the AWS chain). */
  env(
    credentials: { accessKeyId: string; secretAccessKey: string } = S3RVER_CREDENTIALS,
  ): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
      WGP_FARM_S3_ENDPOINT: this.endpoint,
      WGP_FARM_S3_PATH_STYLE: "1",
    };
  }

  async createBucket(name: string): Promise<void> {
    const client = createS3Client(this.settings, { credentials: S3RVER_CREDENTIALS });
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }

  /** Stops the process: SIGKILL for a crash (connections cut mid-request). */
  async stop(options: { signal?: "SIGTERM" | "SIGKILL"; removeData?: boolean } = {}): Promise<void> {
    const running = this.#process;
    this.#process = undefined;
    if (running) {
      running.kill(options.signal ?? "SIGTERM");
      await running.catch(() => undefined);
    }
    if (options.removeData ?? this.#ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /** Starts it again on the same port with the same data (after `stop` or a crash). */
  async restart(): Promise<void> {
    await this.stop({ removeData: false });
    await this.#spawn();
  }

  async #spawn(): Promise<void> {
    const args = ["-d", this.dataDir, "-a", "127.0.0.1", "-p", String(this.#port), "--silent"];
    args.push("--no-vhost-buckets");
    for (const bucket of this.#buckets) args.push("--configure-bucket", bucket);
    const main = this.#withUploadPartCopy ? ["--eval", forkMain(), "--"] : originalMain();
    // s3rver makes the continuation token of a listing that does not fit in one page with DES, which
    // Node's OpenSSL 3 offers only through its legacy provider: without it such a listing (a
    // Bucket.open's one-key listing of a prefix that holds two) answers InternalError.
    const child = execa(process.execPath, ["--openssl-legacy-provider", ...main, ...args], {
      reject: false,
      cleanup: true,
      stdin: "ignore",
    });
    this.#process = child;
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match?.[1]) resolve(Number(match[1]));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    void child.then((result) =>
      reject(new Error(`s3rver exited (${result.exitCode}) before listening: ${output}`)),
    );
    const timer = setTimeout(
      () => reject(new Error(`s3rver did not listen within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    try {
      this.#port = await promise;
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
