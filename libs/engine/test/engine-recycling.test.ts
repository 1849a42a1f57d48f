import { describe, expect, it } from "vitest";
import { type EngineExit, EngineStartError } from "../src/index.js";
import { jobRequest, supervisor } from "./support.js";

describe("EngineSupervisor recycling", () => {
  it("recycles the engine after N jobs with a result, and runs the next job on the fresh one", async () => {
    const supervised = await supervisor({ recycle: { afterJobs: 2 } });
    const exits: EngineExit[] = [];
    const reasons: string[] = [];
    supervised.on("exit", (exit) => exits.push(exit));
    supervised.on("recycling", ({ reason }) => reasons.push(reason));
    await supervised.start();
    const firstPid = supervised.engine?.pid;

    await supervised.generate(await jobRequest());
    expect(await supervised.recycleIfDue()).toBe(false);
    await supervised.generate(await jobRequest());
    expect(supervised.jobsSinceStart).toBe(2);
    expect(await supervised.recycleIfDue()).toBe(true);

    expect(reasons).toEqual(["job count"]);
    expect(exits.map((exit) => exit.reason)).toEqual(["shutdown"]);
    expect(supervised.state).toBe("ready");
    expect(supervised.engine?.pid).not.toBe(firstPid);
    expect(supervised.jobsSinceStart).toBe(0);
    expect((await supervised.generate(await jobRequest())).files).toHaveLength(1);
  });

  it("recycles the engine when its resident memory is above the mark, and not below", async () => {
    const low = await supervisor({ recycle: { aboveRssMiB: 1_000_000 } });
    await low.start();
    await low.generate(await jobRequest());
    expect(await low.recycleIfDue()).toBe(false);

    const high = await supervisor({ recycle: { aboveRssMiB: 1 } });
    const reasons: string[] = [];
    high.on("recycling", ({ reason }) => reasons.push(reason));
    await high.start();
    const firstPid = high.engine?.pid;
    await high.generate(await jobRequest());
    expect(await high.recycleIfDue()).toBe(true);
    expect(reasons).toEqual(["memory"]);
    expect(high.engine?.pid).not.toBe(firstPid);
  });

  it("holds a job submitted during a recycle until the fresh engine is ready", async () => {
    const supervised = await supervisor();
    await supervised.start();
    const firstPid = supervised.engine?.pid;
    const recycled = supervised.recycle("operator asked");
    expect(supervised.state).toBe("recycling");
    const result = await supervised.generate(await jobRequest());
    await recycled;
    expect(result.files).toHaveLength(1);
    expect(supervised.engine?.pid).not.toBe(firstPid);
  });

  it("does not start a second engine when asked to recycle during a recycle", async () => {
    const supervised = await supervisor();
    const readies: number[] = [];
    supervised.on("ready", (ready) => readies.push(ready.pid));
    await supervised.start();
    const [first, second] = await Promise.all([supervised.recycle("one"), supervised.recycle("two")]);
    expect(second.pid).toBe(first.pid);
    expect(readies).toHaveLength(2);
    expect(supervised.engine?.pid).toBe(first.pid);
  });
});

describe("EngineSupervisor.whenReady", () => {
  it("resolves at once with a ready engine, and after a restart once the engine died", async () => {
    const supervised = await supervisor({ restartBackoff: { initialMs: 50 } });
    const ready = await supervised.start();
    expect(await supervised.whenReady()).toEqual(ready);

    const firstPid = supervised.engine?.pid as number;
    const restarting = new Promise((resolve) => supervised.once("restarting", resolve));
    process.kill(firstPid, "SIGKILL");
    await restarting;
    expect(supervised.state).toBe("restarting");
    const next = await supervised.whenReady();
    expect(next.pid).not.toBe(firstPid);
    expect(supervised.state).toBe("ready");
  });

  it("gives way to an abort while the engine waits to restart", async () => {
    const supervised = await supervisor({ restartBackoff: { initialMs: 60_000 } });
    await supervised.start();
    const restarting = new Promise((resolve) => supervised.once("restarting", resolve));
    process.kill(supervised.engine?.pid as number, "SIGKILL");
    await restarting;
    const stop = new AbortController();
    const waiting = supervised.whenReady(stop.signal);
    stop.abort(new Error("the slot stops fetching"));
    await expect(waiting).rejects.toThrow("the slot stops fetching");
  });

  it("rejects once the supervisor gave up, and once it is shut down", async () => {
    const failing = await supervisor({ env: { FAKE_WANGP_INIT_FAULT: "mmgp" }, maxStartAttempts: 1 });
    await expect(failing.start()).rejects.toBeInstanceOf(EngineStartError);
    expect(failing.state).toBe("gave-up");
    await expect(failing.whenReady()).rejects.toBeInstanceOf(EngineStartError);

    const stopped = await supervisor();
    await stopped.start();
    await stopped.shutdown();
    expect(stopped.state).toBe("stopped");
    await expect(stopped.whenReady()).rejects.toThrow("not restarted");
  });
});
