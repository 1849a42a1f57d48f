import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createLogger } from "@wgp-farm/config";
import { FarmConnection } from "@wgp-farm/queue";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { inject } from "vitest";
import {
  API_DEFAULTS,
  ApiKeys,
  type ApiSettings,
  ApiTokenStore,
  type RunningApi,
  startApi,
} from "../../src/index.js";

export interface TestApi {
  api: RunningApi;
  farm: FarmConnection;
  tokens: ApiTokenStore;
  prefix: string;
  outputRoot: string;
  inputsDir: string;
  mediaRoot: string;
  /** A folder outside every root the API may read. */
  outside: string;
  /** fetch against the API with a bearer token (or none) and a JSON body when given. */
  call(pathname: string, init?: CallInit): Promise<TestResponse>;
  close(): Promise<void>;
}

/** A response body as tests read it: loosely, each assertion checks the shape it needs. */
// biome-ignore lint/suspicious/noExplicitAny: assertions, not types, check a response body's shape
export type Json = any;

/** fetch's Response, with its JSON read as `Json`. */
export type TestResponse = Omit<Response, "json"> & { json(): Promise<Json> };

export interface CallInit {
  token?: string | null;
  method?: string;
  json?: unknown;
  headers?: Record<string, string>;
  body?: RequestInit["body"];
}

export async function openTestApi(
  overrides: Partial<ApiSettings> & { redisUrl?: string } = {},
): Promise<TestApi> {
  const redisUrl = overrides.redisUrl ?? inject("redisUrl");
  const prefix = uniquePrefix("api");
  const tmp = await temporaryDir("api");
  const outputRoot = path.join(tmp.dir, "outputs");
  const inputsDir = path.join(tmp.dir, "inputs");
  const mediaRoot = path.join(tmp.dir, "media");
  const outside = path.join(tmp.dir, "outside");
  await Promise.all(
    [outputRoot, inputsDir, mediaRoot, outside].map((dir) => mkdir(dir, { recursive: true })),
  );
  const settings: ApiSettings = {
    ...API_DEFAULTS,
    redisUrl,
    prefix,
    port: 0,
    outputRoot,
    inputsDir,
    mediaRoot: [mediaRoot],
    ...overrides,
  };
  const api = await startApi({
    ...settings,
    logger: createLogger({ name: "api", level: process.env.WGP_FARM_TEST_LOG ? "debug" : "silent" }),
  });
  const farm = await FarmConnection.open(redisUrl, prefix);
  const tokens = new ApiTokenStore(farm.redis, new ApiKeys(prefix));
  return {
    api,
    farm,
    tokens,
    prefix,
    outputRoot,
    inputsDir,
    mediaRoot,
    outside,
    call(pathname, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token) headers.Authorization = `Bearer ${init.token}`;
      let body = init.body;
      if (init.json !== undefined) {
        headers["Content-Type"] ??= "application/json";
        body = JSON.stringify(init.json);
      }
      // A streamed body needs duplex "half" (fetch's rule); any other body allows it too.
      const request = { method: init.method ?? "GET", headers, body: body ?? null, duplex: "half" };
      return fetch(`${api.url}${pathname}`, request as RequestInit) as Promise<TestResponse>;
    },
    async close() {
      await api.close();
      await farm.close();
      await tmp.remove();
    },
  };
}

/** A token with these scopes, as `wgp-farm token create` makes it. */
export async function makeToken(api: TestApi, scopes: string[], name = "test"): Promise<string> {
  return (await api.tokens.create(name, scopes)).token;
}

export function task(taskId: string, extra: Record<string, unknown> = {}) {
  return { task_id: taskId, prompt: `a test video for ${taskId}`, model: "t2v", ...extra };
}
