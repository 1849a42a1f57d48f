/**
 * Real `wgp-farm worker` processes, spawned from the built CLI, and a fleet that keeps a set of them
 * running the way systemd's `Restart=always` would: a worker that dies is started again after a pause.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import path from "node:path";
import type { ChaosFarm } from "./chaos-farm.ts";
import { FAKE_WANGP, WGP_FARM_BIN } from "./paths.ts";
import { enginesOf, gpuOfEngine, type ProcessInfo } from "./process-tree.ts";
import type { Wrap } from "./redis-node.ts";

export interface WorkerSpec {
  /** `--name`: the host part of the slot ids (`gpu<N>@<name>`). */
  name: string;
  slots: number;
  /** `wangp`: the real engine-py driving the WanGP test double. `dry-run`: engine-py without WanGP. */
  engine: "wangp" | "dry-run";
  /** FAKE_WANGP_* knobs and any other variable for the worker and its engines. */
  env?: Record<string, string>;
  /** More `wgp-farm worker` flags (`--hang-timeout`, `--drain-timeout`, …). */
  args?: string[];
  /** Runs the worker elsewhere (on a NetLab host: `host.command`); the pid stays the worker's own. */
  wrap?: Wrap;
  /** REDIS_URL as the worker reaches Redis from where it runs (default: the farm's). */
  redisUrl?: string;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const READY_LINE = "worker started; waiting for jobs";

export class WorkerProcess {
  readonly spec: WorkerSpec;
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  readonly exited: Promise<WorkerExit>;
  readonly ready: Promise<void>;
  readonly #tail: string[] = [];
  readonly #log: WriteStream;

  private constructor(spec: WorkerSpec, child: ChildProcess, logFile: string) {
    this.spec = spec;
    this.child = child;
    this.#log = createWriteStream(logFile, { flags: "a" });
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      let buffered = "";
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        this.#log.write(text);
        buffered += text;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          this.#tail.push(line);
          if (this.#tail.length > 300) this.#tail.shift();
          if (line.includes(READY_LINE)) resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      void this.exited.then((exit) =>
        reject(new Error(`worker ${spec.name} exited before it was ready (${JSON.stringify(exit)})`)),
      );
    });
    // Whoever awaits `ready` gets the rejection; a worker killed before it was ready is no error on its own.
    this.ready.catch(() => undefined);
    void this.exited.then(() => this.#log.end());
  }

  static spawn(farm: ChaosFarm, spec: WorkerSpec): WorkerProcess {
    const args = [
      "worker",
      "--engine",
      spec.engine,
      "--main-output-dir",
      farm.outputDir,
      "--state-dir",
      path.join(farm.dir, `state-${spec.name}`),
      "--slots",
      String(spec.slots),
      "--name",
      spec.name,
      ...(spec.engine === "wangp" ? ["--wangp-root", FAKE_WANGP] : []),
      ...(spec.args ?? []),
    ];
    const [command = WGP_FARM_BIN, ...argv] = spec.wrap
      ? spec.wrap(WGP_FARM_BIN, args)
      : [WGP_FARM_BIN, ...args];
    const child = spawn(command, argv, {
      env: {
        ...process.env,
        REDIS_URL: spec.redisUrl ?? farm.redisUrl,
        WGP_FARM_PREFIX: farm.prefix,
        WGP_FARM_LOG_FORMAT: "json",
        WGP_FARM_LOG_LEVEL: "info",
        PYTHONDONTWRITEBYTECODE: "1",
        FAKE_WANGP_RECORD: farm.recordFile,
        FAKE_WANGP_PREVIEW_BYTES: "0",
        ...spec.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new WorkerProcess(spec, child, path.join(farm.dir, `worker-${spec.name}.log`));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the worker wrote (JSON log lines). */
  tail(lines = 40): string {
    return this.#tail.slice(-lines).join("\n");
  }

  /** Log lines (parsed JSON) whose `msg` matches. */
  logged(pattern: RegExp): Record<string, unknown>[] {
    return this.#tail
      .filter((line) => pattern.test(line))
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { msg: line };
        }
      });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** This worker's engine-py processes with the slot each serves. */
  async engines(): Promise<Array<ProcessInfo & { slotId: string | undefined }>> {
    const engines = await enginesOf(this.pid);
    return Promise.all(
      engines.map(async (engine) => {
        const gpu = await gpuOfEngine(engine.pid);
        return { ...engine, slotId: gpu === undefined ? undefined : `gpu${gpu}@${this.spec.name}` };
      }),
    );
  }

  slotIds(): string[] {
    return Array.from({ length: this.spec.slots }, (_, i) => `gpu${i}@${this.spec.name}`);
  }
}

/**
 * Keeps one worker per spec running: when one exits (killed by the scenario), it is started again
 * after `restartDelayMs`, as a service manager would. `stop` ends them all.
 */
export class WorkerFleet {
  readonly #current = new Map<string, WorkerProcess>();
  readonly #all: WorkerProcess[] = [];
  readonly #farm: ChaosFarm;
  readonly #specs: readonly WorkerSpec[];
  readonly #restartDelayMs: number;
  #stopping = false;
  restarts = 0;

  constructor(farm: ChaosFarm, specs: readonly WorkerSpec[], restartDelayMs = 1_000) {
    this.#farm = farm;
    this.#specs = specs;
    this.#restartDelayMs = restartDelayMs;
  }

  /** Starts every worker and waits until each is ready. */
  async start(): Promise<void> {
    await Promise.all(this.#specs.map((spec) => this.#launch(spec).ready));
  }

  #launch(spec: WorkerSpec): WorkerProcess {
    const worker = WorkerProcess.spawn(this.#farm, spec);
    this.#current.set(spec.name, worker);
    this.#all.push(worker);
    void worker.exited.then(async () => {
      if (this.#stopping) return;
      await new Promise((resolve) => setTimeout(resolve, this.#restartDelayMs));
      if (this.#stopping) return;
      this.restarts += 1;
      this.#launch(spec);
    });
    return worker;
  }

  /** The live worker of each spec (one may be between a death and its restart). */
  workers(): WorkerProcess[] {
    return [...this.#current.values()].filter((worker) => worker.running);
  }

  /** Every worker process started so far, dead ones included. */
  history(): readonly WorkerProcess[] {
    return this.#all;
  }

  byName(name: string): WorkerProcess | undefined {
    return this.#current.get(name);
  }

  /** Stops restarting; SIGTERM to every worker (drain of `drainS`), then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    this.#stopping = true;
    const live = this.#all.filter((worker) => worker.running);
    for (const worker of live) worker.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const worker of live) worker.kill("SIGKILL");
    }, graceMs);
    await Promise.all(live.map((worker) => worker.exited));
    clearTimeout(timer);
  }
}
