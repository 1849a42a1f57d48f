import type { PublishedFile, PublishGate, StagedOutput, StagingOwner } from "./output-publisher.js";

/**
 * Where a worker's results go. Every store stages an attempt's files in a local folder first (the
 * engine writes there), describes them for the manifest, and publishes them through the publish gate
 * so that an attempt that lost its job publishes nothing and result.json comes last: a result exists
 * only when its manifest does. The folder store (OutputPublisher) renames the staging folder into the
 * shared output folder; the S3 store (S3ResultStore) uploads it to a bucket.
 */
export interface ResultStore {
  /** The task's output location as manifests name it (a folder, or an s3:// URL); throws OutputDirEscapeError for a sub dir that would leave the root. */
  targetOf(outputSubDir: string): Promise<string>;
  stage(owner: Omit<StagingOwner, "host" | "pid" | "created_at">, firstAttempt?: boolean): StagedOutput;
  describe(staged: StagedOutput, files: readonly string[]): Promise<PublishedFile[]>;
  /** Publishes the staged files and `documents` (JSON, written beside them; `result.json` last). Returns targetOf's location. */
  publish(
    staged: StagedOutput,
    outputSubDir: string,
    documents: Readonly<Record<string, unknown>>,
    gate: PublishGate,
  ): Promise<string>;
  discard(staged: StagedOutput): Promise<void>;
  /** Removes what attempts that no longer hold their job left staged. Returns how many stagings it removed. */
  sweep(isHeld: (owner: StagingOwner) => Promise<boolean>): Promise<number>;
  close(): Promise<void>;
}
