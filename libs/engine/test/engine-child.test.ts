import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { EngineChild, type ProcessExit } from "../src/index.js";
import { silent } from "./support.js";

const children: EngineChild[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** A Node script as the child (no Python): the wrapper does not care what it runs. */
function node(script: string, stderrLines = 200): EngineChild {
  const child = new EngineChild({
    command: process.execPath,
    args: ["-e", script],
    stderrLines,
    logger: silent,
  });
  children.push(child);
  return child;
}

/** Reads the child's stdout to its end and tells the wrapper, as EngineChannel's owner does. */
function drainChannel(child: EngineChild): void {
  child.stdout.resume();
  child.stdout.on("end", () => child.channelClosed());
}

describe("EngineChild", () => {
  it("reports one exit once the process has exited and its channel has closed", async () => {
    const child = node("process.stdout.write('bye\\n'); process.exitCode = 3;");
    const exits: ProcessExit[] = [];
    child.on("exit", (exit) => exits.push(exit));
    drainChannel(child);
    expect(await child.exited).toEqual({ code: 3, signal: null });
    expect(exits).toEqual([{ code: 3, signal: null }]);
    expect(child.processExit).toEqual({ code: 3, signal: null });
  });

  it("keeps the last stderr lines, each cut to a bounded length", async () => {
    const child = node(
      "for (let i = 1; i <= 5; i++) process.stderr.write('line ' + i + '\\n'); process.stderr.write('x'.repeat(70000) + '\\n');",
      3,
    );
    const seen: string[] = [];
    child.on("stderr", (line) => seen.push(line));
    drainChannel(child);
    await child.exited;
    const tail = child.stderrTail();
    expect(tail.slice(0, 2)).toEqual(["line 4", "line 5"]);
    expect(tail[2]).toMatch(/^x{65536}… \(4464 more bytes\)$/);
    expect(seen).toHaveLength(6);
  });

  it("kills a process whose channel closed while it kept running", async () => {
    const child = node("process.stdout.end(); setInterval(() => {}, 1000);");
    let broken = false;
    child.on("broken", () => {
      broken = true;
    });
    drainChannel(child);
    const exit = await child.exited;
    expect(broken).toBe(true);
    expect(exit.signal).toBe("SIGKILL");
  });

  it("stops a process that ignores the request and SIGTERM: SIGTERM, then SIGKILL", async () => {
    const child = node(
      "process.on('SIGTERM', () => process.stderr.write('ignoring SIGTERM\\n')); process.stderr.write('up\\n'); setInterval(() => {}, 1000);",
    );
    drainChannel(child);
    await once(child, "stderr");
    const started = Date.now();
    const exit = await child.stop(100, 200);
    expect(exit.signal).toBe("SIGKILL");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(child.stderrTail()).toContain("ignoring SIGTERM");
  });

  it("stops a process that exits on SIGTERM without a SIGKILL", async () => {
    const child = node("process.stderr.write('up\\n'); setInterval(() => {}, 1000);");
    drainChannel(child);
    await once(child, "stderr");
    expect((await child.stop(50, 5_000)).signal).toBe("SIGTERM");
  });

  it("reads the resident memory of a live process, and none once it has exited", async () => {
    const child = node("process.stderr.write('up\\n'); setInterval(() => {}, 1000);");
    drainChannel(child);
    await once(child, "stderr");
    const rss = await child.residentMiB();
    expect(rss).toBeGreaterThan(1);
    child.kill("SIGKILL");
    await child.exited;
    expect(await child.residentMiB()).toBeUndefined();
  });

  it("reports a command that cannot be spawned as an exit, with the reason in the stderr tail", async () => {
    const child = new EngineChild({ command: "/no/such/python", args: [], stderrLines: 10, logger: silent });
    drainChannel(child);
    expect(await child.exited).toEqual({ code: null, signal: null });
    expect(child.stderrTail().join("\n")).toContain("spawn error");
  });
});
