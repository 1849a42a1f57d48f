import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../errors.js";
import { INPUT_EXTENSIONS, INPUT_MEDIA_TYPES } from "./media-types.js";

export const INPUT_ID_PREFIX = "input:";

export interface StoredInput {
  /** What a task names: `input:<sha256>`. */
  input_id: string;
  sha256: string;
  size: number;
  content_type: string;
  /** False when the same bytes were uploaded before (the stored file is reused). */
  created: boolean;
}

/** Counts and hashes what passes, and stops the stream once it exceeds the limit. */
class HashingLimit extends Transform {
  readonly hash = createHash("sha256");
  size = 0;

  constructor(readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      done(tooLarge(this.limit));
      return;
    }
    this.hash.update(chunk);
    done(undefined);
    this.push(chunk);
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    "input_too_large",
    `an input may be at most ${limit} bytes; upload a smaller file`,
  );
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Uploaded task inputs on the shared disk, content-addressed: `<inputs-dir>/<sha256><ext>`. An upload
 * is written to a temporary file in the same folder and renamed into place, so a reader never sees a
 * half-written input; the same bytes uploaded again reuse the file (two at once both rename the same
 * content onto it, which is harmless).
 */
export class InputStore {
  readonly #dir: string;
  readonly #maxBytes: number;

  constructor(dir: string, maxBytes: number) {
    this.#dir = path.resolve(dir);
    this.#maxBytes = maxBytes;
  }

  async save(body: Readable, contentType: string, declaredLength: number | undefined): Promise<StoredInput> {
    const extension = INPUT_MEDIA_TYPES[contentType];
    if (!extension) {
      throw new ApiError(
        415,
        "unsupported_media_type",
        `an input must be sent with one of these Content-Types: ${Object.keys(INPUT_MEDIA_TYPES).join(", ")}`,
      );
    }
    if (declaredLength !== undefined && declaredLength > this.#maxBytes) throw tooLarge(this.#maxBytes);
    await mkdir(this.#dir, { recursive: true });
    const temporary = path.join(this.#dir, `.upload-${randomUUID()}.tmp`);
    const counter = new HashingLimit(this.#maxBytes);
    try {
      await pipeline(body, counter, createWriteStream(temporary, { flags: "wx" }));
      const sha256 = counter.hash.digest("hex");
      const created = await this.#publish(temporary, path.join(this.#dir, `${sha256}${extension}`));
      return {
        input_id: `${INPUT_ID_PREFIX}${sha256}`,
        sha256,
        size: counter.size,
        content_type: contentType,
        created,
      };
    } finally {
      await unlink(temporary).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
  }

  /** Renames the finished upload to its content address; false when that file was there already. */
  async #publish(temporary: string, target: string): Promise<boolean> {
    if (await isFile(target)) return false;
    await rename(temporary, target);
    return true;
  }

  /** The stored file of `input:<sha256>`, or undefined when no such input was uploaded. */
  async pathOf(inputId: string): Promise<string | undefined> {
    const sha256 = inputId.slice(INPUT_ID_PREFIX.length);
    if (!SHA256_HEX.test(sha256)) return undefined;
    for (const extension of INPUT_EXTENSIONS) {
      const candidate = path.join(this.#dir, `${sha256}${extension}`);
      if (await isFile(candidate)) return candidate;
    }
    return undefined;
  }
}
