import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  EngineJobError,
  EngineProcess,
  EngineStartError,
  type ProgressMessage,
  type StatusMessage,
} from "../src/index.js";
import { FAKE_WANGP, fakeWangpOptions, jobRequest, startedEngine, t2v, tempDir, track } from "./support.js";

async function jobError(promise: Promise<unknown>): Promise<EngineJobError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineJobError);
  return error as EngineJobError;
}

/**
 * A stand-in engine for what engine-py never does: a Python script that sends `ready`, then runs
 * `loop` (lines of Python, indented for the body of `for line in sys.stdin`, with `command` parsed).
 */
async function protocolPeer(loop: string[]): Promise<string> {
  const peer = path.join(await tempDir(), "peer.py");
  const script = [
    "#!/usr/bin/env python3",
    "import json, os, sys",
    "def send(m): sys.stdout.write(json.dumps(m) + '\\n'); sys.stdout.flush()",
    "send({'type': 'ready', 'protocol': 1, 'adapter': 'wangp', 'engine_version': 'peer', 'wangp_version': None,",
    "      'python': '3', 'gpu': None, 'pid': os.getpid(), 'max_line_bytes': 1 << 20, 'wangp': None})",
    "for line in sys.stdin:",
    "    command = json.loads(line)",
    ...loop,
    "",
  ];
  await writeFile(peer, script.join("\n"));
  await chmod(peer, 0o755);
  return peer;
}

describe("EngineProcess with engine-py on the WanGP test double", () => {
  it("starts, reports ready and runs a job end to end", async () => {
    const engine = await startedEngine();
    expect(engine.readyInfo).toMatchObject({
      protocol: 1,
      adapter: "wangp",
      wangp_version: "12.60+fake-wangp",
    });
    expect(engine.state).toBe("ready");
    // What the host's WanGP knows, and the pre-flight, survive the parse (workers publish them).
    const wangp = engine.readyInfo?.wangp;
    expect(wangp?.catalog?.version).toBe("12.60+fake-wangp");
    expect(wangp?.catalog?.model_types).toEqual(expect.arrayContaining(["t2v", "z_image"]));
    expect(wangp?.catalog?.setting_names).toContain("num_inference_steps");
    expect(wangp?.preflight?.ok).toBe(true);

    const progress: ProgressMessage[] = [];
    const statuses: StatusMessage[] = [];
    const request = await jobRequest(t2v("a fox", { num_inference_steps: 3, seed: 42 }));
    const result = await engine.generate(request, {
      onProgress: (message) => progress.push(message),
      onStatus: (message) => statuses.push(message),
    });

    expect(result.main_file).toBe(path.join(request.outputDir, "output.mp4"));
    expect(await readFile(result.main_file, "utf8")).toContain("FAKE-WANGP-OUTPUT");
    expect(result).toMatchObject({ seed: 42, model_type: "t2v", files: [result.main_file] });
    expect(progress.filter((m) => m.phase === "inference").map((m) => m.step)).toEqual([1, 2, 3]);
    expect(statuses.map((m) => m.text)).toEqual(["Loading model Fixture Text2video 14B...", "Model loaded"]);
    expect(engine.state).toBe("ready");
  });

  it("picks the GPU through CUDA_VISIBLE_DEVICES and passes the WanGP options, never --gpu", async () => {
    const record = path.join(await tempDir(), "record.jsonl");
    await startedEngine({
      gpu: 2,
      wgpOptions: { "attention-mode": "sdpa", boost: "2" },
      wangpArgs: ["--verbose", "2"],
      env: { FAKE_WANGP_RECORD: record },
    });
    const init = JSON.parse((await readFile(record, "utf8")).split("\n")[0] ?? "{}");
    expect(init.cuda_visible_devices).toBe("2");
    expect(init.argv.slice(0, 4)).toEqual(["--attention", "sdpa", "--verbose", "2"]);
    expect(init.argv).not.toContain("--gpu");
    expect(init.config.boost).toBe(2);
  });

  it("describes a model type and answers pings", async () => {
    const engine = await startedEngine();
    const described = await engine.describe("vace_14B");
    expect(described.lora_dir).toBe(path.join(FAKE_WANGP, "loras", "wan"));
    expect(described.defaults).toMatchObject({ model_type: "vace_14B", num_inference_steps: 30 });
    await expect(engine.describe("no_such_model")).rejects.toThrow("Unknown model_type");
    expect(await engine.ping()).toBeGreaterThan(0);
  });

  it("rejects each failing job with a typed error and stays usable", async () => {
    const engine = await startedEngine();
    const cases: Array<[Record<string, unknown>, string]> = [
      [t2v("   "), "invalid"],
      [t2v("x", { activated_loras: ["missing.safetensors"] }), "invalid"],
      [t2v("[fake:oom] x"), "oom"],
      [t2v("x", { override_attention: "flash" }), "engine"],
    ];
    for (const [settings, kind] of cases) {
      const error = await jobError(engine.generate(await jobRequest(settings)));
      expect(error.kind).toBe(kind);
      expect(error.engineLost).toBe(false);
    }
    expect((await engine.generate(await jobRequest())).files).toHaveLength(1);
  });

  it("refuses a second job while one runs, and a job too big for the channel", async () => {
    const engine = await startedEngine({
      env: { FAKE_WANGP_STEP_S: "0.02" },
      extraArgs: ["--max-line-bytes", "4096"],
    });
    const first = engine.generate(await jobRequest(t2v("slow", { num_inference_steps: 20 })));
    expect((await jobError(engine.generate(await jobRequest()))).kind).toBe("busy");
    await first;
    const huge = await jobRequest(t2v("x".repeat(10_000)));
    expect((await jobError(engine.generate(huge))).kind).toBe("invalid");
  });

  it("cancels a job through its AbortSignal", async () => {
    const engine = await startedEngine({ env: { FAKE_WANGP_STEP_S: "0.05" } });
    const controller = new AbortController();
    const job = engine.generate(await jobRequest(t2v("long", { num_inference_steps: 200 })), {
      signal: controller.signal,
      onProgress: (message) => {
        if (message.step === 2) controller.abort();
      },
    });
    const error = await jobError(job);
    expect(error.kind).toBe("cancelled");
    const aborted = new AbortController();
    aborted.abort();
    expect((await jobError(engine.generate(await jobRequest(), { signal: aborted.signal }))).kind).toBe(
      "cancelled",
    );
    expect((await engine.generate(await jobRequest())).files).toHaveLength(1);
  });

  it("sees the process die mid-job as a crash", async () => {
    const engine = await startedEngine({ env: { FAKE_WANGP_STEP_S: "0.05" } });
    const job = engine.generate(await jobRequest(t2v("long", { num_inference_steps: 200 })), {
      onProgress: () => {
        if (engine.pid) process.kill(engine.pid, "SIGKILL");
      },
    });
    const error = await jobError(job);
    expect(error.kind).toBe("crashed");
    expect(error.engineLost).toBe(true);
    expect((await engine.exited).reason).toBe("crashed");
    expect((await engine.exited).signal).toBe("SIGKILL");
    expect((await jobError(engine.generate(await jobRequest()))).kind).toBe("crashed");
  });

  it("sees WanGP exiting inside a job as a crash, with stderr for the report", async () => {
    const engine = await startedEngine();
    const error = await jobError(engine.generate(await jobRequest(t2v("[fake:crash] x"))));
    expect(error.kind).toBe("crashed");
    expect(error.detail).toMatchObject({ exit_code: 70 });
    expect(error.stderrTail.some((line) => line.includes("Powered by WanGP"))).toBe(true);
  });

  it("kills a job that stops progressing as hung", async () => {
    const engine = await startedEngine({ hangTimeoutMs: 500 });
    const started = Date.now();
    const error = await jobError(engine.generate(await jobRequest(t2v("[fake:hang] x"))));
    expect(error.kind).toBe("hung");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await engine.exited).reason).toBe("hung");
  });

  // Found by the chaos suite: a malformed result or error for the running job was only warned about,
  // so the job waited for the hang timeout and the healthy engine was killed as hung.
  it("ends the job at once on a malformed result or error for it, and keeps the engine", async () => {
    const peer = await protocolPeer([
      "    if command['type'] == 'generate' and command['id'] == 'bad-result':",
      "        send({'type': 'result', 'id': command['id'], 'files': 'not-a-list', 'seed': 'abc'})",
      "    elif command['type'] == 'generate':",
      "        send({'type': 'error', 'id': command['id'], 'kind': 'meltdown', 'message': 'x', 'detail': None})",
      "    elif command['type'] == 'ping':",
      "        send({'type': 'pong', 'id': command['id']})",
      "    elif command['type'] == 'shutdown':",
      "        break",
    ]);
    const engine = await startedEngine({ python: peer, hangTimeoutMs: 60_000 });
    const request = await jobRequest(t2v("a fox"));
    const started = Date.now();
    const badResult = await jobError(engine.generate({ ...request, id: "bad-result" }));
    expect(badResult).toMatchObject({ kind: "engine", engineLost: false });
    expect(badResult.message).toMatch(/malformed result \(files: .*\)/);
    const badError = await jobError(engine.generate({ ...request, id: "bad-error" }));
    expect(badError.message).toMatch(/malformed error \(kind: /);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(engine.state).toBe("ready");
    expect(await engine.ping()).toBeGreaterThanOrEqual(0);
  });

  // Found by the chaos suite: lines were read with readline, which buffers any length; a line over V8's
  // string limit (~512 MiB without a newline) threw out of the stream handler and ended the worker.
  it("bounds the lines it reads: a huge stdout line is skipped, a huge stderr line cut", async () => {
    const peer = await protocolPeer([
      "    if command['type'] == 'generate':",
      "        sys.stdout.write('o' * (20 << 20) + '\\n'); sys.stdout.flush()",
      "        sys.stderr.write('e' * (20 << 20) + '\\n'); sys.stderr.flush()",
      "        send({'type': 'error', 'id': command['id'], 'kind': 'engine', 'message': 'after the flood', 'detail': None})",
      "    elif command['type'] == 'shutdown':",
      "        break",
    ]);
    const engine = await startedEngine({ python: peer });
    const warnings: string[] = [];
    engine.on("warning", (warning) => warnings.push(warning));
    const error = await jobError(engine.generate(await jobRequest(t2v("a fox"))));
    expect(error.message).toBe("after the flood");
    expect(warnings).toContainEqual(expect.stringMatching(/^engine wrote a line of 20971520 bytes; skipped/));
    const flood = engine.stderrTail().find((line) => line.startsWith("eee"));
    expect(flood).toMatch(/^e{65536}… \(20905984 more bytes\)$/);
  });

  it("reports a poisoned CUDA context as an engine error that loses the engine", async () => {
    const engine = await startedEngine();
    const error = await jobError(engine.generate(await jobRequest(t2v("[fake:cuda] x"))));
    expect(error.kind).toBe("engine");
    expect(error.engineLost).toBe(true);
    const exit = await engine.exited;
    expect(exit).toMatchObject({ reason: "fatal", code: 4 });
    expect(exit.fatal?.message).toContain("exiting so it is restarted");
  });

  it("keeps only the last stderr lines", async () => {
    const engine = await startedEngine({ stderrLines: 50, env: { FAKE_WANGP_FLOOD_LINES: "500" } });
    let seen = 0;
    engine.on("stderr", () => {
      seen += 1;
    });
    await engine.generate(await jobRequest(t2v("[fake:flood] x")));
    expect(seen).toBeGreaterThan(500);
    expect(engine.stderrTail()).toHaveLength(50);
  });

  it("shuts down cleanly, cancelling a running job", async () => {
    const engine = await startedEngine({ env: { FAKE_WANGP_STEP_S: "0.05" } });
    const job = jobError(engine.generate(await jobRequest(t2v("long", { num_inference_steps: 200 }))));
    const exit = await engine.shutdown();
    expect(exit).toMatchObject({ code: 0, reason: "shutdown" });
    expect((await job).kind).toBe("cancelled");
  });

  it("escalates to SIGTERM when the engine does not stop", async () => {
    const engine = await startedEngine({
      shutdownTimeoutMs: 300,
      extraArgs: ["--shutdown-grace", "30"],
      env: { FAKE_WANGP_FAULT_STEP: "2" },
    });
    let hanging: () => void = () => undefined;
    const reachedHang = new Promise<void>((resolve) => {
      hanging = resolve;
    });
    const job = jobError(
      engine.generate(await jobRequest(t2v("[fake:hang] x")), {
        onProgress: (m) => m.step === 1 && hanging(),
      }),
    );
    await reachedHang;
    const exit = await engine.shutdown();
    expect(exit).toMatchObject({ signal: "SIGTERM", reason: "shutdown" });
    expect((await job).kind).toBe("crashed");
  });
});

describe("EngineProcess start-up failures", () => {
  it("rejects with the engine's fatal message", async () => {
    const engine = track(
      new EngineProcess(await fakeWangpOptions({ wgpOptions: { "preload-policy": "P" } })),
    );
    const error = await engine.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EngineStartError);
    expect((error as EngineStartError).fatal?.message).toContain("wait forever");
    expect((await engine.exited).reason).toBe("start-failed");
  });

  it("rejects when WanGP's init fails", async () => {
    const engine = track(
      new EngineProcess(await fakeWangpOptions({ env: { FAKE_WANGP_INIT_FAULT: "no-gpu" } })),
    );
    await expect(engine.start()).rejects.toThrow("Found no NVIDIA driver");
  });

  it("rejects when the interpreter does not exist", async () => {
    const engine = track(new EngineProcess(await fakeWangpOptions({ python: "/nonexistent/python3" })));
    await expect(engine.start()).rejects.toBeInstanceOf(EngineStartError);
  });

  it("gives up waiting for ready after the timeout and kills the process", async () => {
    const engine = track(
      new EngineProcess(await fakeWangpOptions({ readyTimeoutMs: 300, env: { FAKE_WANGP_INIT_S: "30" } })),
    );
    await expect(engine.start()).rejects.toThrow("not ready after 300 ms");
    expect((await engine.exited).signal).toBe("SIGKILL");
  });
});

describe("EngineProcess with the dry-run adapter", () => {
  it("writes settings.json instead of a video", async () => {
    const engine = track(
      new EngineProcess({ ...(await fakeWangpOptions()), adapter: "dry-run", dryRunDurationS: 0 }),
    );
    const ready = await engine.start();
    expect(ready).toMatchObject({ adapter: "dry-run", wangp_version: null });
    const result = await engine.generate(await jobRequest(t2v("x", { seed: 3 })));
    expect(path.basename(result.main_file)).toBe("settings.json");
    expect(JSON.parse(await readFile(result.main_file, "utf8"))).toEqual(result.settings);
  });
});
