import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, createLogger, resolveSettings } from "../src/index.js";

const Schema = z.object({
  port: z.coerce.number().int().min(1).max(65535).default(3000),
  host: z.string().default("127.0.0.1"),
  readOnly: z.boolean().default(false),
});
const specs = [
  { key: "port", env: "WGP_FARM_PORT" },
  { key: "host", env: "WGP_FARM_HOST" },
  { key: "readOnly" },
];

describe("resolveSettings", () => {
  it("takes flags first, then the environment, then the schema's defaults", () => {
    const env = { WGP_FARM_PORT: "4000", WGP_FARM_HOST: "0.0.0.0" };
    expect(resolveSettings(Schema, specs, { port: "5000" }, env)).toEqual({
      port: 5000,
      host: "0.0.0.0",
      readOnly: false,
    });
    expect(resolveSettings(Schema, specs, {}, env)).toEqual({ port: 4000, host: "0.0.0.0", readOnly: false });
    expect(resolveSettings(Schema, specs, { readOnly: true }, {})).toEqual({
      port: 3000,
      host: "127.0.0.1",
      readOnly: true,
    });
  });

  it("ignores empty environment variables", () => {
    expect(resolveSettings(Schema, specs, {}, { WGP_FARM_PORT: "" }).port).toBe(3000);
  });

  it("names the flag, and the variable it came from, in errors", () => {
    expect(() => resolveSettings(Schema, specs, { port: "0" }, {})).toThrow(ConfigError);
    expect(() => resolveSettings(Schema, specs, { port: "0" }, {})).toThrow(/--port: /);
    expect(() => resolveSettings(Schema, specs, {}, { WGP_FARM_PORT: "http" })).toThrow(
      /--port \(from WGP_FARM_PORT\): /,
    );
  });
});

describe("createLogger", () => {
  it("makes a pino logger at the requested level", () => {
    const logger = createLogger({ name: "test", level: "warn", pretty: false });
    expect(logger.level).toBe("warn");
    expect(logger.isLevelEnabled("info")).toBe(false);
  });
});
