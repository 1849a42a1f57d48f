import { setTimeout as sleep } from "node:timers/promises";
import { idleRosterKey, readWorkEntry } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import { IdleRoster } from "../src/scheduling/idle-roster.js";
import { setPickupSink } from "../src/scheduling/pickup-trace.js";
import { WakeSignal } from "../src/scheduling/wake-signal.js";
import { WorkSignalWatcher } from "../src/scheduling/work-signal-watcher.js";
import { eventually, onCleanup, silent, type TestFarm, testFarm } from "./support.js";

/** One worker process's wake-up side: its wake signal, and its watcher on the idle roster. */
async function processOnRoster(tf: TestFarm): Promise<{ wake: WakeSignal; woken: () => number }> {
  const wake = new WakeSignal();
  const watcher = new WorkSignalWatcher(tf.farm.redis.duplicate(), tf.farm.keys, wake, silent, {
    commands: tf.farm.redis,
  });
  await watcher.start();
  onCleanup(() => watcher.close());
  let woken = 0;
  const notify = wake.notify.bind(wake);
  wake.notify = (...args) => {
    const count = notify(...args);
    woken += count;
    return count;
  };
  return { wake, woken: () => woken };
}

/** A slot's idle wait as GpuSlot does it: decide (here: nothing to do), wait, again until woken by work. */
async function idleSlot(wake: WakeSignal, holds: string | null, stop: AbortSignal): Promise<void> {
  for (;;) {
    const seq = wake.seq;
    await wake.wait(seq, Number.POSITIVE_INFINITY, stop, holds);
    if (stop.aborted || wake.seq !== seq) return;
  }
}

async function lastEntry(tf: TestFarm) {
  const [last] = await tf.farm.redis.xrevrange(tf.farm.keys.workSignal, "+", "-", "COUNT", 1);
  return last ? readWorkEntry(last[1]) : null;
}

describe("the idle roster", () => {
  it("has a process on it before its slot waits, with the model the slot holds, and drops it lazily", async () => {
    const tf = await testFarm("roster");
    const wake = new WakeSignal();
    const roster = new IdleRoster(tf.farm.redis, tf.farm.keys, silent);
    wake.useRoster(roster);
    onCleanup(() => roster.close());
    // The first wait returns once the roster has the slot: the slot decides again before it waits.
    await wake.wait(wake.seq, Number.POSITIVE_INFINITY, undefined, "t2v");
    expect(await tf.farm.redis.zscore(idleRosterKey(tf.farm.keys), roster.id)).not.toBeNull();
    expect(await tf.farm.redis.zscore(idleRosterKey(tf.farm.keys, "t2v"), roster.id)).not.toBeNull();
    let waiting = true;
    const waited = wake.wait(wake.seq, Number.POSITIVE_INFINITY, undefined, "t2v").then(() => {
      waiting = false;
    });
    await sleep(50);
    expect(waiting).toBe(true);
    expect(wake.notify("t2v")).toBe(1);
    await waited;
    await eventually(
      async () =>
        (await tf.farm.redis.zscore(idleRosterKey(tf.farm.keys), roster.id)) === null ? true : undefined,
      5_000,
      "the roster entry to go",
    );
    expect(await tf.farm.redis.zscore(idleRosterKey(tf.farm.keys, "t2v"), roster.id)).toBeNull();
  });

  it("keeps an idle slot's entries while it decides, and drops them as soon as no slot is idle", async () => {
    const tf = await testFarm("roster-idle");
    const wake = new WakeSignal();
    const roster = new IdleRoster(tf.farm.redis, tf.farm.keys, silent);
    wake.useRoster(roster);
    onCleanup(() => roster.close());
    const onRoster = async (model?: string) =>
      (await tf.farm.redis.zscore(idleRosterKey(tf.farm.keys, model ?? null), roster.id)) !== null;
    // The slot names itself: the roster gets it, and it goes back to decide.
    await wake.wait(wake.seq, Number.POSITIVE_INFINITY, undefined, "t2v", "slot-1");
    expect(wake.hasIdleSlot).toBe(true);
    // Deciding, it is no waiter; a re-write of the roster (heartbeat, passing work on) keeps it.
    await wake.syncRoster();
    expect([await onRoster(), await onRoster("t2v")]).toEqual([true, true]);
    wake.leaveIdle("slot-1");
    expect(wake.hasIdleSlot).toBe(false);
    await eventually(
      async () => (!(await onRoster()) && !(await onRoster("t2v")) ? true : undefined),
      3_000,
      "the entries to go once no slot is idle",
    );
  });

  it("keeps named work when its idle slot is deciding: the slot decides again, nothing is passed on", async () => {
    const tf = await testFarm("roster-deciding");
    const a = await processOnRoster(tf);
    // The slot names itself, goes on the roster and back to decide (it is no waiter now).
    await a.wake.wait(a.wake.seq, Number.POSITIVE_INFINITY, undefined, "t2v", "a-slot");
    const seq = a.wake.seq;
    await tf.farm.work.announce(["t2v"], "add");
    await eventually(
      async () => (a.wake.seq > seq ? true : undefined),
      5_000,
      "process A to hear of the work",
    );
    // Its next wait returns at once: the work is seen by one more decision.
    await a.wake.wait(seq, Number.POSITIVE_INFINITY, undefined, "t2v", "a-slot");
    await sleep(200);
    const last = await lastEntry(tf);
    expect(last?.to).toHaveLength(1);
    expect(last?.hops).toBe(0);
  });

  it("wakes only the process an arrival names, and a named process with no idle slot passes the work on", async () => {
    const tf = await testFarm("roster-wake");
    const stop = new AbortController();
    onCleanup(async () => stop.abort());
    const a = await processOnRoster(tf);
    const b = await processOnRoster(tf);
    const slotA = idleSlot(a.wake, "t2v", stop.signal);
    await eventually(
      async () => ((await tf.farm.redis.zcard(idleRosterKey(tf.farm.keys, "t2v"))) === 1 ? true : undefined),
      5_000,
      "process A on the roster",
    );
    await tf.farm.work.announce(["t2v"], "add");
    await slotA;
    expect((await lastEntry(tf))?.to).toHaveLength(1);
    expect(a.woken()).toBe(1);
    expect(b.woken()).toBe(0);

    // Once its woken slot's entries are gone, A's slot goes on the roster again and, deciding once
    // more, is not waiting when work is announced: A is named (it holds the model) and passes it on.
    await eventually(
      async () => ((await tf.farm.redis.zcard(idleRosterKey(tf.farm.keys, "t2v"))) === 0 ? true : undefined),
      5_000,
      "process A's entries to go",
    );
    await a.wake.wait(a.wake.seq, Number.POSITIVE_INFINITY, undefined, "t2v");
    const slotB = idleSlot(b.wake, null, stop.signal);
    await eventually(
      async () => ((await tf.farm.redis.zcard(idleRosterKey(tf.farm.keys))) === 2 ? true : undefined),
      5_000,
      "processes A and B on the roster",
    );
    await tf.farm.work.announce(["t2v"], "add");
    await slotB;
    expect(a.woken()).toBe(1);
    expect(b.woken()).toBe(1);
    const passedOn = await lastEntry(tf);
    expect(passedOn?.hops).toBe(1);
    expect(passedOn?.to).toHaveLength(1);
  });

  it("wakes no other process's XREAD for an entry that names one; bulk work reaches every process", async () => {
    const tf = await testFarm("roster-reads");
    const stop = new AbortController();
    onCleanup(async () => stop.abort());
    const reads: { process: unknown; named: unknown }[] = [];
    setPickupSink((mark, detail) => {
      if (mark === "read") reads.push({ process: detail.process, named: detail.named });
    });
    onCleanup(async () => setPickupSink(undefined));
    const a = await processOnRoster(tf);
    const b = await processOnRoster(tf);
    const slotA = idleSlot(a.wake, "t2v", stop.signal);
    const slotB = idleSlot(b.wake, null, stop.signal);
    await eventually(
      async () => ((await tf.farm.redis.zcard(idleRosterKey(tf.farm.keys))) === 2 ? true : undefined),
      5_000,
      "processes A and B on the roster",
    );
    const [holder] = await tf.farm.redis.zrange(idleRosterKey(tf.farm.keys, "t2v"), "0", "-1");
    await tf.farm.work.announce(["t2v"], "add");
    await slotA;
    await sleep(200);
    expect(reads).toEqual([{ process: holder, named: true }]);
    expect(b.woken()).toBe(0);

    await tf.farm.work.announce(
      Array.from({ length: 5 }, () => "i2v"),
      "add",
    );
    await slotB;
    await eventually(async () => (reads.length === 3 ? true : undefined), 5_000, "both processes to read");
    expect(reads.slice(1).map((read) => read.named)).toEqual([false, false]);
    expect(new Set(reads.slice(1).map((read) => read.process)).size).toBe(2);
  });
});
