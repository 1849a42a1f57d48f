/**
 * The engine protocol under garbage, both ways.
 * - Into engine-py (the real bridge, wangp adapter on the WanGP double): generated garbage lines —
 *   random bytes and text, invalid UTF-8, JSON that is no command, unknown command types, known ones
 *   with missing or wrong fields, lines over max_line_bytes, nesting thousands deep — each followed by
 *   a ping: every line gets at most one refusal with a message, the pong still comes, the process
 *   lives on; garbage thrown at a running job leaves it unharmed.
 * - Into @wgp-farm/engine: a hostile engine (test/chaos/fixtures/hostile-engine) wraps every message
 *   in garbage, sends unknown kinds and malformed results, goes silent, dies, writes 64 MiB lines:
 *   EngineProcess warns, never throws out of its event handlers, and the job in flight ends cleanly —
 *   in-process and through a real `wgp-farm worker`.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@wgp-farm/config";
import { EngineJobError, EngineProcess, EngineStartError } from "@wgp-farm/engine";
import { findTask } from "@wgp-farm/queue";
import fc from "fast-check";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { waitForAllFinished } from "../harness/farm-watch.ts";
import { FAKE_WANGP } from "../harness/paths.ts";
import { residentMiB } from "../harness/process-tree.ts";
import { type BridgeMessage, RawBridge } from "../harness/raw-bridge.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { endStates, recordFailure, stopWorker } from "../harness/scenario-steps.ts";
import {
  type Accounting,
  accountForTasks,
  reasonOf,
  type TaskExpectation,
} from "../harness/task-accounting.ts";
import { WorkerProcess } from "../harness/worker-process.ts";

const HOSTILE = fileURLToPath(new URL("../fixtures/hostile-engine", import.meta.url));
const RUNS: Record<Scale, number> = { short: 150, full: 2_000 };
/** The worker's hang timeout: long enough for 128 MiB of lines to go through a busy machine. */
const WORKER_HANG_TIMEOUT_S = 8;
const MAX_LINE = 1 << 20;
const silent = createLogger({ name: "chaos", level: "silent" });

/** One garbage command line (no newline inside; the caller ends it). */
function garbageLine(): fc.Arbitrary<{ bytes: Buffer; what: string }> {
  const noNewline = (buffer: Buffer) => Buffer.from(buffer.map((byte) => (byte === 0x0a ? 0x20 : byte)));
  const text = (s: string, what: string) => ({ bytes: noNewline(Buffer.from(s)), what });
  const unknownType = fc.constantFrom(
    "launch",
    "GENERATE",
    "generate ",
    "rm -rf",
    "",
    "result",
    "ready",
    "fatal",
    "__proto__",
  );
  return fc.oneof(
    fc
      .uint8Array({ maxLength: 300 })
      .map((bytes) => ({ bytes: noNewline(Buffer.from(bytes)), what: "random bytes" })),
    fc.string({ unit: "binary", maxLength: 300 }).map((s) => text(s, "random text")),
    fc
      .json({ maxDepth: 4 })
      .filter((json) => !json.trimStart().startsWith("{"))
      .map((s) => text(s, "JSON, not an object")),
    fc
      .record({
        type: unknownType,
        id: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null)),
      })
      .map((command) => text(JSON.stringify(command), `unknown type ${JSON.stringify(command.type)}`)),
    fc
      .record({
        type: fc.constant("generate"),
        id: fc.oneof(
          fc.constant("g"),
          fc.integer(),
          fc.constant(""),
          fc.string({ minLength: 257, maxLength: 300 }),
        ),
        settings: fc.oneof(
          fc.constant([]),
          fc.constant("x"),
          fc.constant(null),
          fc.dictionary(fc.string(), fc.json()),
        ),
        output_dir: fc.oneof(fc.constant("relative/dir"), fc.integer(), fc.constant("/tmp")),
        output_name: fc.oneof(
          fc.constant("../escape"),
          fc.constant("a/b"),
          fc.constant("{seed}"),
          fc.constant(""),
        ),
      })
      .map((command) => text(JSON.stringify(command), "malformed generate")),
    fc
      .record({
        type: fc.constantFrom("describe", "cancel", "ping"),
        id: fc.oneof(fc.integer(), fc.constant(""), fc.constant([])),
      })
      .map((command) => text(JSON.stringify(command), `${command.type} without a usable id`)),
    fc.constantFrom(
      {
        bytes: Buffer.from(`{"type":"ping","id":"big","pad":"${"x".repeat(MAX_LINE + 10)}"}`),
        what: "a line over max_line_bytes",
      },
      { bytes: Buffer.from("x".repeat(3 * MAX_LINE)), what: "3 MiB without a newline" },
      { bytes: Buffer.from(`${"[".repeat(50_000)}${"]".repeat(50_000)}`), what: "nesting 50,000 deep" },
      {
        bytes: Buffer.from(
          '{"type":"generate","id":"n","settings":{"a":NaN},"output_dir":"/x","output_name":"o"}',
        ),
        what: "NaN in settings",
      },
      { bytes: Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), what: "a BOM and {}" },
      { bytes: Buffer.from("\0\0\0\0"), what: "NUL bytes" },
    ),
  );
}

const ANSWERS = new Set(["protocol_error", "error"]);

interface BridgeCounts {
  lines: number;
  refused: number;
  silentlyIgnored: number;
  jobsUnharmed: number;
  busy: number;
}

/** Garbage into the real engine-py: one line at a time, then around running jobs; it must live on. */
async function engineUnderGarbage(runs: number, violations: string[]): Promise<BridgeCounts> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-chaos-bridge-"));
  const bridge = RawBridge.start(stateDir, { FAKE_WANGP_STEP_S: "0.05" });
  const counts: BridgeCounts = { lines: 0, refused: 0, silentlyIgnored: 0, jobsUnharmed: 0, busy: 0 };
  try {
    await bridge.take((m) => m.type === "ready", 30_000);
    await garbageLineByLine(bridge, runs, counts, violations);
    for (let job = 0; job < 3; job++)
      await garbageAroundARunningJob(bridge, stateDir, job, counts, violations);
    if (!bridge.alive) violations.push(`engine-py died: ${bridge.stderrTail.slice(-500)}`);
  } catch (error) {
    violations.push(`engine-py under garbage: ${(error as Error).message}`);
  } finally {
    await bridge.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
  return counts;
}

/** Each garbage line followed by a ping: at most one refusal with a message, then the pong. */
async function garbageLineByLine(
  bridge: RawBridge,
  runs: number,
  counts: BridgeCounts,
  violations: string[],
): Promise<void> {
  let ping = 0;
  const property = await fc.check(
    fc.asyncProperty(garbageLine(), async ({ bytes, what }) => {
      counts.lines += 1;
      const id = `ping-${ping++}`;
      await bridge.write(Buffer.concat([bytes, Buffer.from("\n")]));
      await bridge.send({ type: "ping", id });
      const got = await bridge.take((m) => m.type === "pong" && m.id === id, 10_000);
      const before = got.slice(0, -1).filter((m) => !(m.type === "pong" && m.id !== id));
      if (before.length > 1)
        throw new Error(`${what}: ${before.length} answers to one line: ${JSON.stringify(before)}`);
      for (const message of before) {
        if (!ANSWERS.has(String(message.type)) || typeof message.message !== "string" || !message.message) {
          throw new Error(`${what}: answered with ${JSON.stringify(message).slice(0, 300)}`);
        }
        if (message.type === "error" && message.kind !== "invalid") {
          throw new Error(`${what}: an error of kind ${String(message.kind)}`);
        }
      }
      if (before.length === 1) counts.refused += 1;
      else counts.silentlyIgnored += 1;
    }),
    { numRuns: runs, endOnFailure: true },
  );
  if (property.failed)
    violations.push(
      `engine-py under garbage: ${fc.defaultReportMessage(property)?.split("\n").slice(0, 6).join(" ")}`,
    );
}

/** Garbage thrown at a running job: the job finishes as if nothing happened; a second generate is `busy`. */
async function garbageAroundARunningJob(
  bridge: RawBridge,
  stateDir: string,
  job: number,
  counts: BridgeCounts,
  violations: string[],
): Promise<void> {
  const id = `job-${job}`;
  await bridge.send({
    type: "generate",
    id,
    settings: { model_type: "t2v", prompt: "garbage all around", num_inference_steps: 10 },
    output_dir: path.join(stateDir, `out-${job}`),
    output_name: "video",
  });
  await bridge.take((m) => m.type === "progress" && m.id === id, 10_000);
  const sample = fc.sample(garbageLine(), { numRuns: 30 });
  for (const { bytes } of sample) await bridge.write(Buffer.concat([bytes, Buffer.from("\n")]));
  await bridge.send({
    type: "generate",
    id: `intruder-${job}`,
    settings: { model_type: "t2v", prompt: "x" },
    output_dir: "/tmp/x",
    output_name: "o",
  });
  const messages = await bridge.take(
    (m) => (m.type === "result" || m.type === "error") && m.id === id,
    30_000,
  );
  if (messages.some((m) => m.type === "error" && m.id === `intruder-${job}` && m.kind === "busy"))
    counts.busy += 1;
  const end = messages.at(-1) as BridgeMessage;
  if (end.type === "result") counts.jobsUnharmed += 1;
  else violations.push(`engine-py: job ${id} under garbage ended with ${JSON.stringify(end).slice(0, 300)}`);
  counts.lines += sample.length;
}

interface HostileCase {
  mode: string;
  /** Writing a huge line takes a while: no progress in the meantime must not read as a hang. */
  hangTimeoutMs?: number;
  /** How the job must end: resolved, or rejected with this EngineJobError kind. */
  expect: "result" | "hung" | "crashed" | "engine";
}

const HOSTILE_CASES: HostileCase[] = [
  { mode: "result", expect: "result" },
  { mode: "huge", expect: "result", hangTimeoutMs: 60_000 },
  { mode: "silent", expect: "hung" },
  { mode: "exit", expect: "crashed" },
  { mode: "bad-result", expect: "engine" },
  { mode: "bad-error", expect: "engine" },
];

/** The hang timeout EngineProcess gets in the in-process cases (unless a case needs longer). */
const LIBRARY_HANG_TIMEOUT_MS = 2_000;

interface LibraryFigures {
  cases: number;
  warnings: number;
  /** From sending each job until it ended. */
  endMs: number[];
  /** The largest growth of this process's RSS around one case (MiB). */
  rssGrowth: number;
  hangTimeoutMs: number;
}

/**
 * Garbage into @wgp-farm/engine: EngineProcess drives the hostile engine in this process, once never
 * ready, then once per hostile behaviour; nothing may escape as an uncaught exception.
 */
async function engineLibraryUnderGarbage(scale: Scale, violations: string[]): Promise<LibraryFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-chaos-hostile-"));
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  const figures: LibraryFigures = {
    cases: 0,
    warnings: 0,
    endMs: [],
    rssGrowth: 0,
    hangTimeoutMs: LIBRARY_HANG_TIMEOUT_MS,
  };
  try {
    await neverReadyEngine(dir, figures, violations);
    const cases: HostileCase[] =
      scale === "full"
        ? [...HOSTILE_CASES, { mode: "giant", expect: "result", hangTimeoutMs: 120_000 }]
        : HOSTILE_CASES;
    for (const hostile of cases) await hostileJob(dir, hostile, figures, violations);
  } catch (error) {
    violations.push(`@wgp-farm/engine under garbage: ${(error as Error).stack}`);
  } finally {
    process.off("uncaughtException", onUncaught);
    await rm(dir, { recursive: true, force: true });
  }
  if (uncaught.length > 0)
    violations.push(`uncaught exceptions in the parent: ${uncaught.map(String).join("; ")}`);
  figures.cases = figures.endMs.length + 1;
  return figures;
}

/** An engine that never says ready: start() rejects with EngineStartError. */
async function neverReadyEngine(dir: string, figures: LibraryFigures, violations: string[]): Promise<void> {
  const neverReady = new EngineProcess({
    adapter: "wangp",
    wangpRoot: FAKE_WANGP,
    configDir: dir,
    enginePyDir: HOSTILE,
    env: { HOSTILE_NEVER_READY: "1" },
    readyTimeoutMs: 3_000,
    logger: silent,
  });
  neverReady.on("warning", () => figures.warnings++);
  const refused = await neverReady.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(refused instanceof EngineStartError))
    violations.push(`hostile engine never ready: start gave ${String(refused)}`);
  await neverReady.exited;
}

/** One job against one hostile behaviour: it must end the way the case expects. */
async function hostileJob(
  dir: string,
  hostile: HostileCase,
  figures: LibraryFigures,
  violations: string[],
): Promise<void> {
  const engine = new EngineProcess({
    adapter: "wangp",
    wangpRoot: FAKE_WANGP,
    configDir: dir,
    enginePyDir: HOSTILE,
    hangTimeoutMs: hostile.hangTimeoutMs ?? LIBRARY_HANG_TIMEOUT_MS,
    readyTimeoutMs: 10_000,
    logger: silent,
  });
  engine.on("warning", () => figures.warnings++);
  await engine.start();
  const rssBefore = (await residentMiB(process.pid)) ?? 0;
  const started = performance.now();
  const outcome = await engine
    .generate({
      id: `hostile-${hostile.mode}`,
      settings: { model_type: "t2v", prompt: `hostile [hostile:${hostile.mode}]` },
      outputDir: path.join(dir, hostile.mode),
      outputName: "video",
    })
    .then(
      () => "result",
      (error: unknown) => (error instanceof EngineJobError ? error.kind : `thrown: ${String(error)}`),
    );
  figures.endMs.push(performance.now() - started);
  figures.rssGrowth = Math.max(figures.rssGrowth, ((await residentMiB(process.pid)) ?? 0) - rssBefore);
  if (outcome !== hostile.expect) {
    violations.push(
      `@wgp-farm/engine, hostile '${hostile.mode}': the job ended '${outcome}', expected '${hostile.expect}' (after ${formatMs(performance.now() - started)})`,
    );
  }
  await engine.shutdown();
}

/** How each hostile behaviour must end under a real worker, and with what reason. */
const WORKER_MODES: Array<[string, TaskExpectation["outcome"], RegExp | undefined]> = [
  ["result", "completed", undefined],
  ["huge", "completed", undefined],
  ["silent", "quarantined", /^quarantined: /],
  ["exit", "quarantined", /^quarantined: /],
  ["bad-result", "failed", /^engine error: /],
  ["bad-error", "failed", /^engine error: /],
];

interface WorkerFigures {
  tasks: number;
  accounting: Accounting;
  /** The reason recorded for the first task of each behaviour that did not complete. */
  reasons: string[];
  survived: boolean;
}

/** The hostile engine under a real `wgp-farm worker`: the worker lives on and every task ends as expected. */
async function workerWithHostileEngine(scale: Scale, violations: string[]): Promise<WorkerFigures> {
  const chaos = await ChaosFarm.create("hostile");
  const python = await hostilePython(chaos);
  const rounds = scale === "full" ? 3 : 1;
  const expectations: TaskExpectation[] = [];
  const tasks = WORKER_MODES.flatMap(([mode, outcome, reason]) =>
    Array.from({ length: rounds }, (_, round) => {
      const taskId = `hostile-${mode}-${round}`;
      expectations.push({ taskId, outputSubDir: taskId, outcome, reason });
      return {
        task_id: taskId,
        prompt: `a task for a hostile engine [hostile:${mode}]`,
        model: "t2v",
        steps: 2,
      };
    }),
  );
  await chaos.import(tasks, { attempts: 3, backoffMs: 200 });
  const worker = WorkerProcess.spawn(chaos, {
    name: "hostile-host",
    slots: 2,
    engine: "wangp",
    env: { WGP_FARM_PYTHON: python },
    args: ["--hang-timeout", String(WORKER_HANG_TIMEOUT_S)],
  });
  await worker.ready;
  await recordFailure(
    waitForAllFinished(chaos, ["t2v"], tasks.length, 600_000),
    violations,
    "worker with a hostile engine",
  );
  const survived = worker.running;
  if (!survived) violations.push(`the worker died on a hostile engine: ${worker.tail(20)}`);
  await stopWorker(worker);
  const accounting = await accountForTasks(chaos, expectations);
  violations.push(...accounting.problems.map((problem) => `worker with a hostile engine: ${problem}`));
  const reasons = await reasonsOfFirstRound(chaos);
  await chaos.close(keepFiles(violations));
  return { tasks: tasks.length, accounting, reasons, survived };
}

/** A python3 wrapper that puts the hostile engine first on PYTHONPATH (WGP_FARM_PYTHON). */
async function hostilePython(chaos: ChaosFarm): Promise<string> {
  const python = path.join(chaos.dir, "hostile-python");
  await writeFile(
    python,
    `#!/bin/sh\nPYTHONPATH="${HOSTILE}\${PYTHONPATH:+:$PYTHONPATH}" exec python3 "$@"\n`,
  );
  await chmod(python, 0o755);
  return python;
}

async function reasonsOfFirstRound(chaos: ChaosFarm): Promise<string[]> {
  const reasons: string[] = [];
  for (const [mode] of WORKER_MODES) {
    const details = await findTask(chaos.farm, `hostile-${mode}-0`, { logLines: 0 });
    if (details && details.state !== "completed") reasons.push(`${mode}: ${reasonOf(details).slice(0, 110)}`);
  }
  return reasons;
}

export async function engineProtocolScenario(scale: Scale): Promise<ScenarioResult> {
  const elapsed = startClock();
  const violations: string[] = [];
  const intoBridge = await engineUnderGarbage(RUNS[scale], violations);
  const intoLibrary = await engineLibraryUnderGarbage(scale, violations);
  const worker = await workerWithHostileEngine(scale, violations);
  return {
    id: "engine-protocol",
    title: "The engine protocol under garbage, both ways",
    trials: intoBridge.lines + intoLibrary.cases + worker.tasks,
    tasks: worker.tasks + 3,
    faults: intoBridge.lines + intoLibrary.cases + worker.tasks,
    lost: worker.accounting.lost.length,
    duplicated: worker.accounting.duplicated.length,
    escaped: 0,
    recoverMs: intoLibrary.endMs,
    recoveryMeaning:
      "@wgp-farm/engine: from sending the job until the job in flight had ended, for each hostile behaviour",
    violations,
    figures: [
      [
        "garbage lines into engine-py / refused with a message / ignored (valid cancel, blank)",
        `${intoBridge.lines} / ${intoBridge.refused} / ${intoBridge.silentlyIgnored}`,
      ],
      [
        "jobs hit by 30 garbage lines and an intruding generate: finished unharmed / intruder answered busy",
        `${intoBridge.jobsUnharmed} of 3 / ${intoBridge.busy} of 3`,
      ],
      ["hostile engine behaviours against EngineProcess (incl. never ready)", String(intoLibrary.cases)],
      ["warnings EngineProcess raised for what it could not read", String(intoLibrary.warnings)],
      [
        `job end after hostile behaviour (median / max; hang timeout 2 s${scale === "full" ? ", 120 s around the 600 MiB line" : ""})`,
        `${formatMs(median(intoLibrary.endMs))} / ${formatMs(Math.max(...intoLibrary.endMs))}`,
      ],
      [
        `parent RSS growth around 64 MiB lines${scale === "full" ? " and a 600 MiB stderr line" : ""}`,
        `${intoLibrary.rssGrowth.toFixed(0)} MiB`,
      ],
      [
        "through a real worker: tasks / end states",
        `${worker.tasks} / ${endStates(worker.accounting.states)}`,
      ],
      ["reasons the worker recorded", worker.reasons.join(" · ")],
    ],
    method: [
      "engine-py (wangp adapter, WanGP double) gets one generated garbage line at a time, each followed by a ping; then three running jobs get 30 garbage lines and a second generate each.",
      "`@wgp-farm/engine`'s EngineProcess drives `test/chaos/fixtures/hostile-engine`, a stand-in that wraps every message in garbage (not JSON, invalid UTF-8, NUL, unknown types, wrong fields, other jobs' results, 100,000-deep nesting) and then answers, goes silent, exits, sends a malformed result or error, or writes 64 MiB lines (and, at full size, a 600 MiB stderr line).",
      `The same hostile engine under a real \`wgp-farm worker\` (\`WGP_FARM_PYTHON\` pointing at a wrapper that puts it first on PYTHONPATH), \`--hang-timeout ${WORKER_HANG_TIMEOUT_S}\`, 3 attempts.`,
    ],
    durationS: elapsed(),
  };
}
