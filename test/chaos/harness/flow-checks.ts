/**
 * The end checks of a flow scenario, on top of the usual task accounting: each completed job's
 * result.json is the one of the attempt Redis completed it with, a stitch joined exactly the outputs
 * its sources completed with, in order (frame counts with ffprobe on the real videos), a post-step
 * worked on its source's completed output, a continuing segment was given the file the one before it
 * published, and no job of the flows is left anywhere but completed or failed.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describeFlowFailure, findTask, type PostStepKind, PublishClaims } from "@wgp-farm/queue";
// The subpath, not the index: the chaos runner is plain Node, which loads a .ts file but does not
// map the index's "./x.js" imports onto its .ts sources.
import { probeVideo } from "@wgp-farm/testing/video-probe";
import type { ChaosFarm } from "./chaos-farm.ts";

/** What Redis recorded for a completed job: its main file and the attempt that completed it. */
interface Completed {
  file: string;
  attempt: number;
  slot: string;
}

/** The parts of result.json these checks read. */
interface Manifest {
  task_id?: string;
  attempt?: number;
  slot?: string;
  settings?: Record<string, unknown>;
  source?: { task_id?: string; file?: string };
  sources?: { task_id?: string; file?: string }[];
}

/** Checks over the completed jobs of one farm, each job read from Redis once. */
export class FlowChecks {
  readonly #chaos: ChaosFarm;
  readonly #completed = new Map<string, Promise<Completed | undefined>>();
  readonly #claims: PublishClaims;

  constructor(chaos: ChaosFarm) {
    this.#chaos = chaos;
    this.#claims = new PublishClaims(chaos.farm.redis, chaos.farm.keys);
  }

  /** A completed job's main file and completing attempt, as Redis has them; undefined when not completed. */
  completed(taskId: string): Promise<Completed | undefined> {
    let known = this.#completed.get(taskId);
    if (!known) {
      known = (async () => {
        const details = await findTask(this.#chaos.farm, taskId, { logLines: 0 });
        const result = details?.result as { output_dir?: string; main_file?: string; slot?: string } | null;
        if (details?.state !== "completed" || !result?.output_dir || !result.main_file) return undefined;
        return {
          file: path.join(result.output_dir, result.main_file),
          attempt: details.attempts.started,
          slot: result.slot ?? "",
        };
      })();
      this.#completed.set(taskId, known);
    }
    return known;
  }

  async #manifest(outputSubDir: string): Promise<Manifest> {
    const text = await readFile(path.join(this.#chaos.outputDir, outputSubDir, "result.json"), "utf8");
    return JSON.parse(text) as Manifest;
  }

  /**
   * The result folder of a completed job is the one its completing attempt published: result.json
   * names the attempt and slot Redis completed the job with, and the attempt that held the publish claim.
   */
  async recordedAttempt(taskId: string, outputSubDir: string): Promise<string | undefined> {
    const completed = await this.completed(taskId);
    if (!completed) return `${taskId}: not completed`;
    const manifest = await this.#manifest(outputSubDir);
    const claim = await this.#claims.read(taskId);
    if (
      manifest.attempt !== completed.attempt ||
      manifest.slot !== completed.slot ||
      claim?.attempt !== completed.attempt
    ) {
      return `${taskId}: result.json names attempt ${manifest.attempt} on ${manifest.slot}; Redis completed attempt ${completed.attempt} on ${completed.slot} (publish claim: attempt ${claim?.attempt} on ${claim?.slot})`;
    }
    return undefined;
  }

  /** A stitch joined its sources' completed outputs in order: the files it names, and their frames add up. */
  async stitch(taskId: string, outputSubDir: string, sources: readonly string[]): Promise<string[]> {
    const manifest = await this.#manifest(outputSubDir);
    const named = (manifest.sources ?? []).map((source) => source.task_id);
    if (named.join(",") !== sources.join(",")) {
      return [`${taskId}: stitched ${named.join(", ")}; its sources are ${sources.join(", ")}`];
    }
    const problems: string[] = [];
    const files: string[] = [];
    for (const [i, sourceId] of sources.entries()) {
      const source = await this.completed(sourceId);
      const used = manifest.sources?.[i]?.file;
      if (!source || used !== source.file) {
        problems.push(`${taskId}: stitched ${used} for ${sourceId}, which completed with ${source?.file}`);
      } else files.push(source.file);
    }
    if (problems.length > 0) return problems;
    const stitched = await this.completed(taskId);
    if (!stitched) return [`${taskId}: not completed`];
    const frames = await Promise.all(files.map(async (file) => (await probeVideo(file)).frames));
    const sum = frames.reduce((total, n) => total + n, 0);
    const joined = (await probeVideo(stitched.file)).frames;
    return joined === sum
      ? []
      : [`${taskId}: ${joined} frames; its sources have ${frames.join(" + ")} = ${sum}`];
  }

  /** A post-step worked on its source's completed output, and its video has the shape its kind gives. */
  async step(taskId: string, outputSubDir: string, sourceId: string, kind: PostStepKind): Promise<string[]> {
    const manifest = await this.#manifest(outputSubDir);
    const source = await this.completed(sourceId);
    const step = await this.completed(taskId);
    if (!source || !step) return [`${taskId}: it or its source ${sourceId} is not completed`];
    if (manifest.source?.task_id !== sourceId || manifest.source.file !== source.file) {
      return [
        `${taskId}: worked on ${manifest.source?.task_id} (${manifest.source?.file}); ${sourceId} completed with ${source.file}`,
      ];
    }
    const [before, after] = await Promise.all([probeVideo(source.file), probeVideo(step.file)]);
    const shaped =
      kind === "upscale"
        ? after.width === before.width * 2 &&
          after.height === before.height * 2 &&
          after.frames === before.frames
        : kind === "interpolate"
          ? after.frames > before.frames && after.width === before.width
          : after.frames === before.frames && after.width === before.width;
    return shaped ? [] : [`${taskId}: ${kind} of ${JSON.stringify(before)} gave ${JSON.stringify(after)}`];
  }

  /**
   * A job that failed because a job it depends on did keeps that job's reason: its own reason, or the
   * chain of `child … failed` it names, leads to `<cause> failed: ` and the cause's own error.
   */
  async dependencyFailure(taskId: string, cause: string, causeReason: RegExp): Promise<string[]> {
    const details = await findTask(this.#chaos.farm, taskId, { logLines: 0 });
    const reason = details?.errors.at(-1)?.message ?? "";
    const told = (await describeFlowFailure(this.#chaos.farm, reason)) ?? "";
    const at = told.indexOf(`${cause} failed: `);
    const causeSaid = told
      .slice(at + `${cause} failed: `.length)
      .replace(/^(invalid: )?source not ready: /, "");
    return at >= 0 && causeReason.test(causeSaid)
      ? []
      : [`${taskId}: failed with '${reason}' (${told}); expected it to name ${cause} and its error`];
  }

  /** A segment continuing another was given the file that one completed with. */
  async continuation(taskId: string, outputSubDir: string, previousId: string): Promise<string[]> {
    const manifest = await this.#manifest(outputSubDir);
    const previous = await this.completed(previousId);
    const given = manifest.settings?.video_source;
    return previous && given === previous.file
      ? []
      : [`${taskId}: continued from ${String(given)}; ${previousId} completed with ${previous?.file}`];
  }
}

const UNFINISHED = ["active", "wait", "waiting-children", "delayed", "prioritized"] as const;

/** Jobs of the named queues that are anywhere but completed or failed: "stitch: 1 waiting-children". */
export async function unfinishedJobs(chaos: ChaosFarm, queueNames: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const name of queueNames) {
    const counts = await chaos.farm.queues.byName(name).getJobCounts(...UNFINISHED);
    for (const state of UNFINISHED) {
      if ((counts[state] ?? 0) > 0) left.push(`${name}: ${counts[state]} ${state}`);
    }
  }
  return left;
}
