import { POST_STEP_KINDS, type PostStepKind, stepJobId, stepOutputSubDir } from "@wgp-farm/queue";
import type { Task } from "@wgp-farm/tasks";

/** One post-step a generation's `then` chain plans, as its result.json lists it. */
export interface PlannedStep {
  task_id: string;
  index: number;
  kind: PostStepKind;
  output_sub_dir: string;
}

function isStepKind(name: unknown): name is PostStepKind {
  return typeof name === "string" && (POST_STEP_KINDS as readonly string[]).includes(name);
}

/** The kind of one `then` entry: `{kind: …}` as the importer normalises it, or `{"upscale": …}` as written. */
function kindOf(entry: unknown): PostStepKind | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { kind } = entry as { kind?: unknown };
  if (isStepKind(kind)) return kind;
  const named = Object.keys(entry).filter(isStepKind);
  return named.length === 1 ? named[0] : undefined;
}

/** The post-steps a task's `then` chain plans (none without one): ids, kinds and output folders. */
export function plannedChain(task: Task): PlannedStep[] {
  const then = (task as { then?: unknown }).then;
  if (!Array.isArray(then)) return [];
  const steps: PlannedStep[] = [];
  for (const [position, entry] of then.entries()) {
    const kind = kindOf(entry);
    if (!kind) continue;
    const index = position + 1;
    steps.push({
      task_id: stepJobId(task.task_id, index, kind),
      index,
      kind,
      output_sub_dir: stepOutputSubDir(task.output_sub_dir, index, kind),
    });
  }
  return steps;
}
