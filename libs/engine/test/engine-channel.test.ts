import { once } from "node:events";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  EngineChannel,
  type EngineMessage,
  EngineRequestError,
  type MalformedMessage,
} from "../src/index.js";

/** A channel on two in-memory streams: `engine` is what the engine writes, `commands` what it reads. */
function openChannel(options: ConstructorParameters<typeof EngineChannel>[2] = {}) {
  const engine = new PassThrough();
  const commands = new PassThrough();
  const channel = new EngineChannel(engine, commands, options);
  const messages: EngineMessage[] = [];
  const warnings: string[] = [];
  const malformed: MalformedMessage[] = [];
  channel.on("message", (message) => messages.push(message));
  channel.on("warning", (warning) => warnings.push(warning));
  channel.on("malformed", (entry) => malformed.push(entry));
  const sent = (): unknown[] =>
    String(commands.read() ?? "")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  const write = (value: unknown) =>
    engine.write(`${typeof value === "string" ? value : JSON.stringify(value)}\n`);
  /** Ends the engine's side and waits until the channel has read everything. */
  const close = async () => {
    const closed = once(channel, "close");
    engine.end();
    await closed;
  };
  return { channel, engine, commands, messages, warnings, malformed, sent, write, close };
}

const progress = {
  type: "progress",
  id: "job-1",
  phase: "denoising",
  step: 1,
  total: 4,
  percent: 25,
  text: "step 1/4",
};

describe("EngineChannel on in-memory streams", () => {
  it("writes each command as one JSON line", () => {
    const { channel, sent } = openChannel();
    channel.send({ type: "cancel", id: "job-1" });
    channel.send({ type: "shutdown" });
    expect(sent()).toEqual([{ type: "cancel", id: "job-1" }, { type: "shutdown" }]);
  });

  it("drops a command once the engine's input is closed, without throwing", () => {
    const { channel, commands } = openChannel();
    commands.destroy();
    expect(() => channel.send({ type: "shutdown" })).not.toThrow();
  });

  it("hands on valid messages in order, split across chunks, and closes after the last one", async () => {
    const { engine, messages, close } = openChannel();
    const line = JSON.stringify(progress);
    engine.write(line.slice(0, 10));
    engine.write(`${line.slice(10)}\n${JSON.stringify({ ...progress, step: 2 })}`);
    await close();
    expect(messages.map((message) => message.type === "progress" && message.step)).toEqual([1, 2]);
  });

  it("warns about lines it cannot read and goes on reading", async () => {
    const { write, messages, warnings, malformed, close } = openChannel({ maxMessageBytes: 200 });
    write("not json at all");
    write({ type: "no_such_type", id: "x" });
    write({ type: "progress", id: "x", padding: "y".repeat(300) });
    write(progress);
    await close();
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain("non-JSON line");
    expect(warnings[1]).toContain("invalid message");
    expect(warnings[2]).toMatch(/a line of \d+ bytes; skipped/);
    expect(malformed).toHaveLength(1);
    expect(messages).toEqual([progress]);
  });

  it("tells what is wrong with a malformed result, with its type and id", async () => {
    const { write, malformed, close } = openChannel();
    write({ type: "result", id: "job-1", files: "not a list" });
    await close();
    expect(malformed).toHaveLength(1);
    expect(malformed[0]).toMatchObject({ type: "result", id: "job-1" });
    expect(malformed[0]?.problems).toContain("files");
  });

  it("pairs each request with the reply that carries its id, whatever the order", async () => {
    const { channel, sent, write, messages } = openChannel();
    const pings = [channel.ping(1_000), channel.ping(1_000)];
    const described = channel.describe("t2v", 1_000);
    const ids = sent().map((command) => (command as { id: string }).id);
    expect(new Set(ids).size).toBe(3);
    write({ type: "pong", id: ids[1] });
    write({
      type: "described",
      id: ids[2],
      model_type: "t2v",
      name: null,
      defaults: {},
      lora_dir: null,
      loras: [],
      loras_supported: true,
      availability: null,
    });
    write({ type: "pong", id: ids[0] });
    expect((await described).model_type).toBe("t2v");
    for (const ms of await Promise.all(pings)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(messages).toEqual([]);
  });

  it("fails a request on an error or protocol_error reply, and passes on an error for anything else", async () => {
    const { channel, sent, write, messages, warnings } = openChannel();
    const refused = channel.describe("nope", 1_000);
    const broken = channel.ping(1_000);
    const [describeId, pingId] = sent().map((command) => (command as { id: string }).id);
    write({
      type: "error",
      id: describeId,
      kind: "invalid",
      message: "Unknown model_type nope",
      detail: null,
    });
    write({ type: "protocol_error", id: pingId, message: "bad command", detail: null });
    const jobError = { type: "error", id: "job-1", kind: "oom", message: "out of memory", detail: null };
    write(jobError);
    await expect(refused).rejects.toThrow("Unknown model_type nope");
    await expect(broken).rejects.toBeInstanceOf(EngineRequestError);
    expect(warnings).toEqual(["engine refused a command: bad command"]);
    expect(messages).toEqual([jobError]);
  });

  it("times a request out, and fails what is still waiting when told to", async () => {
    const { channel } = openChannel({ requestTimeoutMs: 30 });
    await expect(channel.ping()).rejects.toThrow("ping got no answer within 30 ms");
    const waiting = channel.ping(60_000);
    channel.failRequests("engine exited (code 1)");
    await expect(waiting).rejects.toThrow("engine exited (code 1)");
  });
});
