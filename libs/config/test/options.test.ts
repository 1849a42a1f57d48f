import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  addOptions,
  ConfigError,
  choiceOption,
  createLogger,
  defaultsOf,
  listOption,
  option,
  SECONDS,
  switchOption,
} from "../src/index.js";

const SERVER_OPTIONS = {
  port: option({
    flag: "--port",
    takes: "port",
    env: "WGP_TEST_PORT",
    description: "port to listen on",
    schema: z.coerce.number().int().min(1).max(65535),
    default: 3000,
  }),
  host: option({
    flag: "--host",
    takes: "address",
    env: "WGP_TEST_HOST",
    description: "address to listen on",
    schema: z.string().min(1),
    default: "127.0.0.1",
  }),
  drainTimeoutMs: option({
    flag: "--drain-timeout",
    unit: SECONDS,
    env: "WGP_TEST_DRAIN_TIMEOUT",
    description: "how long running jobs may finish",
    schema: z.coerce.number().positive(),
    default: 300_000,
  }),
  name: option({
    flag: "--name",
    takes: "name",
    env: "WGP_TEST_NAME",
    description: "host part of the identity",
    schema: z.string().min(1),
    defaultText: "the host name",
  }),
  outputDir: option({
    flag: "--output-dir",
    takes: "dir",
    env: "WGP_TEST_OUTPUT_DIR",
    description: "where results go",
    schema: z.string().min(1),
    required: true,
  }),
  engine: choiceOption({
    flag: "--engine",
    takes: "kind",
    env: "WGP_TEST_ENGINE",
    description: "what runs the jobs",
    choices: ["wangp", "dry-run"],
    default: "wangp",
  }),
  readOnly: switchOption({ flag: "--read-only", env: "WGP_TEST_READ_ONLY", description: "no actions" }),
  extra: listOption({ flag: "--extra", takes: "arg...", description: "extra arguments" }),
};

/** Parses `argv` with the server options as a real command line would, and reads them. */
function read(argv: string[]) {
  const command = new Command("serve").exitOverride();
  const readOptions = addOptions(command, SERVER_OPTIONS);
  command.parse(argv, { from: "user" });
  return readOptions();
}

function helpOf(): string {
  const command = new Command("serve");
  addOptions(command, SERVER_OPTIONS);
  return command.helpInformation();
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("options read through addOptions", () => {
  it("takes the flag first, then the environment, then the default", () => {
    vi.stubEnv("WGP_TEST_PORT", "4000");
    vi.stubEnv("WGP_TEST_HOST", "0.0.0.0");
    const flagged = read(["--output-dir", "out", "--port", "5000"]);
    expect(flagged).toMatchObject({ port: 5000, host: "0.0.0.0", drainTimeoutMs: 300_000, outputDir: "out" });
    expect(read(["--output-dir", "out"]).port).toBe(4000);
    vi.unstubAllEnvs();
    expect(read(["--output-dir", "out"])).toEqual({
      port: 3000,
      host: "127.0.0.1",
      drainTimeoutMs: 300_000,
      name: undefined,
      outputDir: "out",
      engine: "wangp",
      readOnly: false,
      extra: [],
    });
  });

  it("reads a required option from its variable, and treats an empty variable as unset", () => {
    vi.stubEnv("WGP_TEST_OUTPUT_DIR", "/srv/out");
    vi.stubEnv("WGP_TEST_PORT", "");
    expect(read([])).toMatchObject({ outputDir: "/srv/out", port: 3000 });
  });

  it("keeps values in the program's unit: seconds typed, milliseconds read", () => {
    expect(read(["--output-dir", "o", "--drain-timeout", "1.5"]).drainTimeoutMs).toBe(1500);
    vi.stubEnv("WGP_TEST_DRAIN_TIMEOUT", "2");
    expect(read(["--output-dir", "o"]).drainTimeoutMs).toBe(2000);
  });

  it("turns a switch on by flag, or by its variable's 1/true (0/false leave it off)", () => {
    expect(read(["--output-dir", "o", "--read-only"]).readOnly).toBe(true);
    vi.stubEnv("WGP_TEST_READ_ONLY", "1");
    expect(read(["--output-dir", "o"]).readOnly).toBe(true);
    vi.stubEnv("WGP_TEST_READ_ONLY", "false");
    expect(read(["--output-dir", "o"]).readOnly).toBe(false);
  });

  it("collects repeatable options into a list", () => {
    expect(read(["--output-dir", "o", "--extra", "--verbose", "--extra", "2"]).extra).toEqual([
      "--verbose",
      "2",
    ]);
  });

  it("names every bad value with its flag, and the variable it came from", () => {
    vi.stubEnv("WGP_TEST_HOST", "");
    vi.stubEnv("WGP_TEST_DRAIN_TIMEOUT", "soon");
    vi.stubEnv("WGP_TEST_READ_ONLY", "maybe");
    let error: unknown;
    try {
      read(["--port", "0", "--engine", "gpu"]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).message.split("\n").map((line) => line.trim());
    expect(lines[0]).toBe("invalid configuration:");
    expect(lines).toContainEqual(expect.stringMatching(/^--port: Too small/));
    expect(lines).toContainEqual(expect.stringMatching(/^--drain-timeout \(from WGP_TEST_DRAIN_TIMEOUT\): /));
    expect(lines).toContainEqual(expect.stringMatching(/^--engine: .*"wangp"\|"dry-run"/));
    expect(lines).toContainEqual("--read-only (from WGP_TEST_READ_ONLY): must be 1, true, 0 or false");
    expect(lines).toContainEqual("--output-dir (or WGP_TEST_OUTPUT_DIR) is required");
    expect(lines).toHaveLength(6);
  });
});

describe("--help of the options", () => {
  it("shows each option's value, default (in the unit typed), choices and variable", () => {
    const help = helpOf().replace(/\s+/g, " ");
    expect(help).toContain("--port <port> port to listen on (default: 3000, env: WGP_TEST_PORT)");
    expect(help).toContain(
      "--drain-timeout <s> how long running jobs may finish (default: 300, env: WGP_TEST_DRAIN_TIMEOUT)",
    );
    expect(help).toContain(
      "--name <name> host part of the identity (default: the host name, env: WGP_TEST_NAME)",
    );
    expect(help).toContain("--output-dir <dir> where results go (required, env: WGP_TEST_OUTPUT_DIR)");
    expect(help).toContain(
      "--engine <kind> what runs the jobs (choices: wangp, dry-run, default: wangp, env: WGP_TEST_ENGINE)",
    );
    expect(help).toContain("--read-only no actions (env: WGP_TEST_READ_ONLY)");
    expect(help).toContain("--extra <arg...> extra arguments");
  });
});

describe("defaultsOf", () => {
  it("gives each default once, in the program's unit, for a library to apply", () => {
    expect(defaultsOf(SERVER_OPTIONS)).toEqual({
      port: 3000,
      host: "127.0.0.1",
      drainTimeoutMs: 300_000,
      engine: "wangp",
      readOnly: false,
      extra: [],
    });
  });
});

describe("createLogger", () => {
  it("makes a pino logger at the requested level", () => {
    const logger = createLogger({ name: "test", level: "warn", pretty: false });
    expect(logger.level).toBe("warn");
    expect(logger.isLevelEnabled("info")).toBe(false);
  });
});
