import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutputDirEscapeError, resolveOutputDir, taskListJsonSchema } from "../src/index.js";

let root: { dir: string; remove: () => Promise<void> };
let outside: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await temporaryDir("out");
  outside = await temporaryDir("outside");
  await mkdir(path.join(root.dir, "real"));
  await symlink(outside.dir, path.join(root.dir, "escape"));
  await symlink(path.join(root.dir, "real"), path.join(root.dir, "inside-link"));
  await writeFile(path.join(outside.dir, "a-file"), "outside\n");
  await symlink(path.join(outside.dir, "a-file"), path.join(root.dir, "file-link"));
  await symlink(path.join(root.dir, "loop"), path.join(root.dir, "loop"));
  await symlink(path.join(outside.dir, "not-yet"), path.join(root.dir, "dangling"));
});
afterAll(async () => {
  await root.remove();
  await outside.remove();
});

describe("resolveOutputDir", () => {
  it("gives a folder inside the root, existing or not", async () => {
    expect(await resolveOutputDir(root.dir, "real/new/deeper")).toMatch(/real\/new\/deeper$/);
    expect(await resolveOutputDir(root.dir, "fresh")).toMatch(/fresh$/);
  });

  it("refuses a symlink that leads outside the root, and allows one that stays inside", async () => {
    await expect(resolveOutputDir(root.dir, "escape/task")).rejects.toThrow(OutputDirEscapeError);
    await expect(resolveOutputDir(root.dir, "escape/task")).rejects.toThrow(
      /through a symbolic link, outside/,
    );
    expect(await resolveOutputDir(root.dir, "inside-link/task")).toMatch(/inside-link\/task$/);
  });

  // Found by the chaos suite: these failed on the worker as retryable "worker error: ENOTDIR/ELOOP/ENOENT".
  it.each([
    ["file-link/x", /goes through a file, not a folder/],
    ["loop/x", /loop of symbolic links/],
    ["dangling/x", /which leads to .*not-yet, a path that does not exist/],
  ])("refuses %j: the path cannot hold a folder, or may lead anywhere", async (subDir, message) => {
    await expect(resolveOutputDir(root.dir, subDir)).rejects.toThrow(OutputDirEscapeError);
    await expect(resolveOutputDir(root.dir, subDir)).rejects.toThrow(message);
  });

  it("re-checks the lexical rules", async () => {
    await expect(resolveOutputDir(root.dir, "../x")).rejects.toThrow(/'\.\.'/);
  });
});

describe("taskListJsonSchema", () => {
  it("types the task fields and lists WanGP settings so editors flag typos", () => {
    const schema = taskListJsonSchema() as { type: string; items: { anyOf: unknown[] } };
    // A task, or a stitch task (flow-fields.test.ts checks that one).
    const items = schema.items.anyOf[0] as {
      properties: Record<string, { type?: string }>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.type).toBe("array");
    expect(items.required).toEqual(["task_id", "prompt"]);
    expect(items.additionalProperties).toBe(false);
    expect(items.properties.frames?.type).toBe("integer");
    expect(items.properties).toHaveProperty("sample_solver");
  });
});
