import {
  isMediaRef,
  isStitchTask,
  type ModelMediaType,
  mediaTypeOfModel,
  postStepMediaProblem,
  type StitchTask,
  type Task,
  type TaskIssue,
} from "@wgp-farm/tasks";
import type { JobsOptions } from "bullmq";
import { modelOfQueue, modelQueueName } from "../records/farm-keys.js";
import {
  type PostStep,
  postStepKindOf,
  postStepModelType,
  STITCH_QUEUE,
  type StepJobData,
  type StitchJobData,
  stepJobId,
  stepOutputSubDir,
} from "../records/step-job.js";
import {
  jobNameFor,
  jobOptionsFor,
  type RetryPolicy,
  type TaskImportInfo,
  type TaskJobData,
} from "../records/task-job.js";
import { findCycles, JobGraph } from "./flow-graph.js";
import type { PendingFlowTask as PendingTask } from "./task-importer.js";

/** What the farm knows of a task a flow depends on and that the file does not hold. */
export interface FarmTaskFact {
  /** The farm's state of it: `completed`, `failed`, `waiting`, `cancelled`, `missing`, … */
  state: string;
  queue: string;
  /** It already feeds another flow (it has a BullMQ parent). */
  hasParent: boolean;
}

/**
 * BullMQ's default leaves a parent waiting forever when a child fails. Every flow job says what a
 * failure does: it fails the job that depends on it (which fails the next, up to the flow's root).
 */
export const FLOW_FAILURE_OPTIONS = {
  failParentOnFailure: true,
  continueParentOnFailure: false,
  ignoreDependencyOnFailure: false,
  removeDependencyOnFailure: false,
} as const satisfies JobsOptions;

/** One job of a planned flow. `data` is null for a job the farm already has: the flow adopts it. */
export interface FlowNode {
  id: string;
  queue: string;
  name: string;
  data: TaskJobData | StepJobData | StitchJobData | null;
  opts: JobsOptions;
  /** Output folder, claimed with the id (null for an adopted job). */
  output_sub_dir: string | null;
  children: FlowNode[];
}

export interface PlannedFlow {
  root: FlowNode;
  /** The file's tasks in the flow (adopted farm jobs are not members). */
  members: PendingTask[];
  /** Every job the flow adds (adopted ones excluded). */
  nodes: FlowNode[];
}

export interface RefusedFlow {
  members: PendingTask[];
  errors: Map<string, TaskIssue[]>;
}

export interface FlowPlan {
  flows: PlannedFlow[];
  refused: RefusedFlow[];
}

export interface FlowPlanInput {
  /** The file's tasks that take part in flows. */
  members: readonly PendingTask[];
  /** Task ids of this file that were invalid. */
  invalidIds: ReadonlySet<string>;
  /** What the farm knows of the other task ids the members name. */
  farm: ReadonlyMap<string, FarmTaskFact>;
  retry: RetryPolicy;
}

const UNFINISHED = new Set(["waiting", "prioritized", "delayed", "active", "waiting-children"]);

/** Whether a task takes part in a flow by itself (the tasks it names are pulled in too). */
export function hasFlowFields(task: Task | StitchTask): boolean {
  if (isStitchTask(task) || task.depends_on !== undefined || task.then !== undefined) return true;
  return Object.values(task).some(
    (value) => isMediaRef(value) || (Array.isArray(value) && value.some((item) => isMediaRef(item))),
  );
}

/** The task ids a task waits for, each with the field that names it. */
export function dependenciesOf(task: Task | StitchTask): { id: string; path: string }[] {
  const named = (task.depends_on ?? []).map((id, index) => ({ id, path: `depends_on[${index}]` }));
  if (!isStitchTask(task)) return named;
  const sources = task.stitch.from
    .map((id, index) => ({ id, path: `stitch.from[${index}]` }))
    .filter(({ id }) => !task.depends_on?.includes(id));
  return [...named, ...sources];
}

export function queueOfTask(task: Task | StitchTask): string {
  return isStitchTask(task) ? STITCH_QUEUE : modelQueueName(task.model);
}

/** What a media field expects from the task it names. */
function expectedMedia(field: string): ModelMediaType {
  if (field.includes("image")) return "image";
  if (field.includes("audio")) return "audio";
  return "video";
}

class FlowPlanner {
  readonly #input: FlowPlanInput;
  readonly #members: Map<string, PendingTask>;
  readonly #errors = new Map<string, TaskIssue[]>();
  readonly #graph = new JobGraph();
  /** Farm jobs the flows adopt, by id. */
  readonly #adopted = new Map<string, FarmTaskFact>();
  /** For each job id, the member task it belongs to (a task's own job and its steps). */
  readonly #ownerOf = new Map<string, string>();
  /** For each (dependant job, dependency job) edge, the field that made it, for messages. */
  readonly #edgeField = new Map<string, { taskId: string; path: string; dependency: string }>();
  /** Tasks on a dependency cycle: their edges stay out of the job graph, which must be acyclic. */
  readonly #inCycle = new Set<string>();

  constructor(input: FlowPlanInput) {
    this.#input = input;
    this.#members = new Map(input.members.map((pending) => [pending.task.task_id, pending]));
  }

  plan(): FlowPlan {
    for (const pending of this.#members.values()) this.#checkDependencies(pending.task);
    this.#checkCycles();
    for (const pending of this.#members.values()) this.#checkMedia(pending.task);
    for (const pending of this.#members.values()) this.#addJobs(pending);
    const parentOf = this.#checkTree();
    return this.#split(parentOf);
  }

  #error(taskId: string, path: string, message: string): void {
    const list = this.#errors.get(taskId) ?? [];
    list.push({ path, message });
    this.#errors.set(taskId, list);
  }

  #checkDependencies(task: Task | StitchTask): void {
    for (const { id, path } of dependenciesOf(task)) {
      if (this.#members.has(id)) continue;
      if (this.#input.invalidIds.has(id)) {
        this.#error(task.task_id, path, `'${id}' is invalid in this file (see its errors)`);
        continue;
      }
      const fact = this.#input.farm.get(id);
      if (!fact) {
        this.#error(task.task_id, path, `'${id}' is neither in this file nor known to the farm`);
      } else if (fact.state === "completed") {
        // Done already: its output is there; no job needs to wait for it.
      } else if (!UNFINISHED.has(fact.state)) {
        this.#error(
          task.task_id,
          path,
          `'${id}' is ${fact.state} in the farm: retry it (wgp-farm retry ${id}) before a flow can use it`,
        );
      } else if (fact.hasParent) {
        this.#error(
          task.task_id,
          path,
          `'${id}' already feeds another flow, and a job has one dependant (BullMQ flows are trees)`,
        );
      } else {
        this.#adopted.set(id, fact);
      }
    }
  }

  #checkCycles(): void {
    const dependencies = new Map(
      [...this.#members.values()].map(({ task }) => [task.task_id, dependenciesOf(task).map(({ id }) => id)]),
    );
    for (const cycle of findCycles(dependencies)) {
      for (const taskId of cycle.slice(0, -1)) {
        this.#inCycle.add(taskId);
        const path = dependenciesOf(this.#members.get(taskId)?.task as Task).find(
          ({ id }) => id === cycle[cycle.indexOf(taskId) + 1],
        )?.path;
        this.#error(taskId, path ?? "depends_on", `dependency cycle: ${cycle.join(" → ")}`);
      }
    }
  }

  /** What a task's main output is once its chain has run (steps keep the media type). */
  #mediaOf(taskId: string): ModelMediaType {
    const member = this.#members.get(taskId);
    if (member) return isStitchTask(member.task) ? "video" : mediaTypeOfModel(member.task.model);
    const queue = this.#input.farm.get(taskId)?.queue ?? "";
    const model = modelOfQueue(queue);
    return model === undefined || postStepKindOf(model) ? "video" : mediaTypeOfModel(model);
  }

  #checkMedia(task: Task | StitchTask): void {
    const own = isStitchTask(task) ? "video" : mediaTypeOfModel(task.model);
    for (const [index, step] of (task.then ?? []).entries()) {
      const problem = postStepMediaProblem(step, own);
      if (problem) this.#error(task.task_id, `then[${index}]`, problem);
    }
    if (isStitchTask(task)) {
      for (const [index, id] of task.stitch.from.entries()) {
        const media = this.#mediaOf(id);
        if (media !== "video")
          this.#error(
            task.task_id,
            `stitch.from[${index}]`,
            `'${id}' makes ${media}, and a stitch joins videos`,
          );
      }
      return;
    }
    for (const [key, value] of Object.entries(task)) {
      const refs = isMediaRef(value)
        ? [{ path: `${key}.from`, from: value.from }]
        : Array.isArray(value)
          ? value.flatMap((item, i) =>
              isMediaRef(item) ? [{ path: `${key}[${i}].from`, from: item.from }] : [],
            )
          : [];
      for (const { path, from } of refs) {
        const media = this.#mediaOf(from);
        const wanted = expectedMedia(key);
        if (media !== wanted)
          this.#error(task.task_id, path, `'${from}' makes ${media}, and ${key} takes ${wanted}`);
      }
    }
  }

  /** The job whose result is a task's output: its last post-step, or the task's own job. */
  #outputJobOf(taskId: string): string {
    const member = this.#members.get(taskId);
    const steps = member?.task.then ?? [];
    const last = steps.at(-1);
    return last ? stepJobId(taskId, steps.length, last.kind) : taskId;
  }

  #addJobs({ task }: PendingTask): void {
    this.#graph.addNode(task.task_id);
    this.#ownerOf.set(task.task_id, task.task_id);
    for (const { id, path } of dependenciesOf(task)) {
      if (this.#inCycle.has(task.task_id)) break;
      if (!this.#members.has(id) && !this.#adopted.has(id)) continue;
      const dependency = this.#outputJobOf(id);
      this.#graph.addEdge(task.task_id, dependency);
      this.#edgeField.set(`${task.task_id}\u0000${dependency}`, {
        taskId: task.task_id,
        path,
        dependency: id,
      });
    }
    let previous = task.task_id;
    for (const [index, step] of (task.then ?? []).entries()) {
      const id = stepJobId(task.task_id, index + 1, step.kind);
      this.#graph.addEdge(id, previous);
      this.#ownerOf.set(id, task.task_id);
      previous = id;
    }
  }

  /** Each job's one dependant; a job two jobs need is refused on the later one's field. */
  #checkTree(): Map<string, string> {
    const parentOf = new Map<string, string>();
    for (const [dependency, dependants] of this.#graph.dependantsAfterReduction()) {
      const [first, ...others] = dependants as [string, ...string[]];
      parentOf.set(dependency, first);
      for (const other of others) {
        const edge = this.#edgeField.get(`${other}\u0000${dependency}`);
        const firstTask = this.#ownerOf.get(first) ?? first;
        const taskId = edge?.taskId ?? this.#ownerOf.get(other) ?? other;
        this.#error(
          taskId,
          edge?.path ?? "depends_on",
          `'${edge?.dependency ?? dependency}' is already needed by '${firstTask}': a job has one dependant in a flow (BullMQ flows are trees); a diamond or a fan-out needs the shared task to run first, then a second import`,
        );
      }
    }
    return parentOf;
  }

  /** Groups the tasks into flows (connected by dependencies) and refuses every flow that has an error. */
  #split(parentOf: Map<string, string>): FlowPlan {
    const groupOf = new Map<string, string>();
    const find = (id: string): string => {
      const parent = groupOf.get(id) ?? id;
      if (parent === id) return id;
      const root = find(parent);
      groupOf.set(id, root);
      return root;
    };
    for (const { task } of this.#members.values()) {
      for (const { id } of dependenciesOf(task)) {
        if (this.#members.has(id) || this.#adopted.has(id)) groupOf.set(find(id), find(task.task_id));
      }
    }
    const groups = Map.groupBy(this.#members.values(), ({ task }) => find(task.task_id));
    const plan: FlowPlan = { flows: [], refused: [] };
    for (const [group, members] of groups) {
      const errors = new Map(
        members.flatMap(({ task }) => {
          const issues = this.#errors.get(task.task_id);
          return issues ? [[task.task_id, issues] as const] : [];
        }),
      );
      if (errors.size > 0) {
        plan.refused.push({ members, errors });
        continue;
      }
      const ids = this.#graph.nodes().filter((id) => find(this.#ownerOf.get(id) ?? id) === group);
      const roots = ids.filter((id) => !parentOf.has(id));
      plan.flows.push(this.#buildFlow(roots[0] as string, ids, parentOf, members));
    }
    return plan;
  }

  #buildFlow(rootId: string, ids: readonly string[], parentOf: Map<string, string>, members: PendingTask[]) {
    const nodes = new Map(ids.map((id) => [id, this.#nodeOf(id)]));
    for (const id of ids) {
      const parent = parentOf.get(id);
      if (parent !== undefined) nodes.get(parent)?.children.push(nodes.get(id) as FlowNode);
    }
    return {
      root: nodes.get(rootId) as FlowNode,
      members,
      nodes: [...nodes.values()].filter((node) => node.data !== null),
    };
  }

  #nodeOf(id: string): FlowNode {
    const adopted = this.#adopted.get(id);
    if (adopted) {
      const opts = { jobId: id, ...FLOW_FAILURE_OPTIONS };
      return { id, queue: adopted.queue, name: id, data: null, opts, output_sub_dir: null, children: [] };
    }
    const owner = this.#members.get(this.#ownerOf.get(id) ?? id) as PendingTask;
    const { task, info } = owner;
    const opts: JobsOptions = {
      ...jobOptionsFor(task as Task, this.#input.retry),
      jobId: id,
      ...FLOW_FAILURE_OPTIONS,
    };
    if (id !== task.task_id) return this.#stepNode(id, owner, opts);
    if (isStitchTask(task)) {
      const data: StitchJobData = {
        kind: "stitch",
        task_id: task.task_id,
        sources: task.stitch.from.map((from) => ({ task_id: this.#outputJobOf(from) })),
        ...(task.stitch.crossfade ? { crossfade_s: task.stitch.crossfade } : {}),
        reencode: task.stitch.reencode,
        output_sub_dir: task.output_sub_dir,
        priority: task.priority,
        import: info,
      };
      const name = `stitch of ${task.stitch.from.length}: ${task.stitch.from.join(", ")}`.slice(0, 60);
      return { id, queue: STITCH_QUEUE, name, data, opts, output_sub_dir: task.output_sub_dir, children: [] };
    }
    const resolved = this.#withOutputRefs(task);
    return {
      id,
      queue: modelQueueName(task.model),
      name: jobNameFor(task),
      data: { task: resolved, import: info } satisfies TaskJobData,
      opts,
      output_sub_dir: task.output_sub_dir,
      children: [],
    };
  }

  /** A `{"from": task}` names the task's output: the job of its last post-step when it has a chain. */
  #withOutputRefs(task: Task): Task {
    const resolve = (value: unknown): unknown =>
      isMediaRef(value) ? { from: this.#outputJobOf(value.from) } : value;
    return Object.fromEntries(
      Object.entries(task).map(([key, value]) => [
        key,
        Array.isArray(value) ? value.map(resolve) : resolve(value),
      ]),
    ) as Task;
  }

  #stepNode(id: string, owner: PendingTask, opts: JobsOptions): FlowNode {
    const { task, info } = owner;
    const steps = task.then ?? [];
    const index = steps.findIndex((step, i) => stepJobId(task.task_id, i + 1, step.kind) === id);
    const previous = steps[index - 1];
    return stepNodeOf({
      rootTaskId: task.task_id,
      rootOutputSubDir: task.output_sub_dir,
      index: index + 1,
      step: steps[index] as PostStep,
      sourceId: previous ? stepJobId(task.task_id, index, previous.kind) : task.task_id,
      priority: task.priority,
      info,
      opts,
    });
  }
}

export interface StepNodeInput {
  rootTaskId: string;
  rootOutputSubDir: string;
  /** 1-based place in the root task's chain. */
  index: number;
  step: PostStep;
  /** The job whose output the step works on. */
  sourceId: string;
  priority: number;
  info: TaskImportInfo;
  opts: JobsOptions;
}

/** A post-step's job: in its `model.post.<kind>` queue, with its place in its root task's chain. */
export function stepNodeOf(input: StepNodeInput): FlowNode {
  const { rootTaskId, index, step } = input;
  const id = stepJobId(rootTaskId, index, step.kind);
  const outputSubDir = stepOutputSubDir(input.rootOutputSubDir, index, step.kind);
  const data: StepJobData = {
    kind: "step",
    task_id: id,
    root_task_id: rootTaskId,
    index,
    step,
    source: { task_id: input.sourceId },
    output_sub_dir: outputSubDir,
    priority: input.priority,
    import: input.info,
  };
  return {
    id,
    queue: modelQueueName(postStepModelType(step.kind)),
    name: `${step.kind} of ${rootTaskId}`,
    data,
    opts: { ...input.opts, jobId: id },
    output_sub_dir: outputSubDir,
    children: [],
  };
}

/**
 * Checks the flows of one import as a whole and maps each onto a BullMQ flow tree. A flow with any
 * error (a cycle, a dependency nobody knows, an output a step cannot take, a job two dependants need)
 * is refused whole, with each error on its task and field.
 */
export function planFlows(input: FlowPlanInput): FlowPlan {
  return new FlowPlanner(input).plan();
}
