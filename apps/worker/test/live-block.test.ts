import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "@wgp-farm/config";
import { FarmConnection, FarmStats, SlotRegistry } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { LiveBlock } from "../src/console/live-block.js";
import { openWorkerConsole } from "../src/console/worker-console.js";
import { SlotStatusBoard } from "../src/slot/slot-status.js";

const ESC = "\u001b[";

/** A terminal that keeps what is written to it, like stderr on a TTY of `columns` columns. */
class FakeTerminal extends Writable {
  isTTY: boolean;
  columns: number;
  text = "";

  constructor(isTTY: boolean, columns = 120) {
    super();
    this.isTTY = isTTY;
    this.columns = columns;
  }

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  /** What the screen shows: every write replayed, erasing what the block's escapes erase. */
  screen(): string[] {
    const lines: string[] = [""];
    const print = (text: string) => {
      const [first = "", ...rest] = text.split("\n");
      lines[lines.length - 1] += first;
      lines.push(...rest);
    };
    const [plain = "", ...escaped] = this.text.split("\u001b");
    print(plain);
    for (const part of escaped) {
      // `[<n>A\r`: n lines up, to their start; `[J`: erase to the end of the screen.
      const command = /^\[(\d*)([A-Za-z])\r?/.exec(part);
      if (!command) throw new Error(`unexpected escape sequence: ${JSON.stringify(part.slice(0, 10))}`);
      const [whole, count, letter] = command;
      if (letter === "A") lines.splice(lines.length - 1 - Number(count), Number(count) + 1, "");
      else if (letter !== "J" && letter !== "m") throw new Error(`unexpected escape ${letter}`);
      print(part.slice(whole.length));
    }
    return lines.slice(0, -1);
  }
}

let farm: FarmConnection;
const boards: SlotStatusBoard[] = [];
const logger = createLogger({ name: "live-block-test", level: "silent" });

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("live"));
});
afterEach(async () => {
  for (const board of boards.splice(0)) board.stop();
  await farm.close();
});

/** A slot's status board as a worker keeps it (publishing to the test's Redis). */
function board(slotId: string): SlotStatusBoard {
  const made = new SlotStatusBoard(
    { slotId, host: "render-01", gpuIndex: boards.length, gpuName: "NVIDIA H100" },
    { registry: new SlotRegistry(farm.redis, farm.keys), stats: new FarmStats(farm.redis, farm.keys) },
    logger,
    () => null,
  );
  boards.push(made);
  return made;
}

function busyBoards(): SlotStatusBoard[] {
  const busy = board("gpu0@render-01");
  busy.loadedModel = "t2v";
  busy.setState("busy");
  busy.jobStarted("lighthouse-storm-0001", "model.t2v");
  busy.jobProgress({
    phase: "inference",
    step: 7,
    total: 20,
    percent: 35,
    eta_s: 130,
    slot: "gpu0@render-01",
  });
  const idle = board("gpu1@render-01");
  idle.setState("idle");
  return [busy, idle];
}

describe("the live block", () => {
  it("draws one line per slot: task, phase, a progress bar, percent, steps and ETA", () => {
    const terminal = new FakeTerminal(true);
    const slots = busyBoards();
    const block = LiveBlock.on(terminal);
    block?.show(() => slots.map((slot) => slot.status()));
    const [busy, idle] = terminal.screen();
    block?.close();
    expect(busy).toBe(
      "gpu0@render-01 busy       t2v        lighthouse-storm-0001 inference 7/20 35% ETA 2m 10s [#######-------------]",
    );
    expect(idle).toBe("gpu1@render-01 idle       -          0 done, 0 failed");
  });

  it("keeps the block below the log lines, redrawn after each one, without tearing", async () => {
    const terminal = new FakeTerminal(true);
    const slots = busyBoards();
    const block = LiveBlock.on(terminal);
    if (!block) throw new Error("a TTY gets a live block");
    block.show(() => slots.map((slot) => slot.status()), 20);
    const log = createLogger({ name: "worker", level: "info", pretty: true, destination: block });
    log.info("engine ready");
    slots[0]?.jobProgress({
      phase: "inference",
      step: 14,
      total: 20,
      percent: 70,
      eta_s: 40,
      slot: "gpu0@render-01",
    });
    log.warn("slow step");
    // A log write that arrives in pieces is printed once whole.
    block.write("partial ");
    block.write("line\n");
    await sleep(60); // a few timed redraws
    const screen = terminal.screen();
    expect(screen).toHaveLength(5);
    expect(screen[0]).toContain("engine ready");
    expect(screen[1]).toContain("slow step");
    expect(screen[2]).toBe("partial line");
    expect(screen[3]).toMatch(/^gpu0@render-01 +busy .* inference 14\/20 70% ETA 40s \[#{14}-{6}\]$/);
    expect(screen[4]).toMatch(/^gpu1@render-01 +idle/);
    block.close();
    expect(terminal.screen()).toEqual(screen.slice(0, 3));
  });

  it("cuts block lines to the terminal's width so that none wraps", () => {
    const terminal = new FakeTerminal(true, 40);
    const slots = busyBoards();
    LiveBlock.on(terminal)?.show(() => slots.map((slot) => slot.status()));
    const lines = terminal.screen();
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(Array.from(line).length).toBeLessThanOrEqual(39);
  });

  it("is not drawn on a terminal-less stream: plain log lines, no escape sequences", async () => {
    const pipe = new FakeTerminal(false);
    expect(LiveBlock.on(pipe)).toBeUndefined();
    const slots = busyBoards();
    const shown = openWorkerConsole(pipe, true);
    shown.show(() => slots.map((slot) => slot.status()));
    const log = createLogger({ name: "worker", level: "info", pretty: false, destination: pipe });
    log.info("engine ready");
    await sleep(600);
    shown.close();
    expect(pipe.text).not.toContain(ESC);
    expect(pipe.text.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(pipe.text).msg).toBe("engine ready");
  });

  it("is not drawn on a terminal when logs are JSON", () => {
    const terminal = new FakeTerminal(true);
    const shown = openWorkerConsole(terminal, false);
    shown.show(() => busyBoards().map((slot) => slot.status()));
    shown.close();
    expect(terminal.text).toBe("");
  });
});
