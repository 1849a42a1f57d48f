import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileInUse, removeUnlessInUse } from "../src/index.js";

/** The built package: another process holds the file through it, as another worker would. */
const BUILT_HOST_LIB = new URL("../dist/index.js", import.meta.url).href;

let folder: Awaited<ReturnType<typeof temporaryDir>>;
beforeAll(async () => {
  folder = await temporaryDir("file-use");
});
afterAll(async () => {
  await folder.remove();
});

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe("files in use", () => {
  it("are not removed while held, in this process or another; they are once released", async () => {
    const file = path.join(folder.dir, "input");
    await writeFile(file, "content");
    const [first, second] = [await FileInUse.hold(file), await FileInUse.hold(file)];
    expect(first && second).toBeTruthy();
    expect(await removeUnlessInUse(file)).toBe(false);
    await first?.release();
    expect(await removeUnlessInUse(file)).toBe(false);
    await second?.release();

    // Held by another process until it exits (killed: the kernel drops its lock).
    const holder = execa(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { FileInUse } = await import(${JSON.stringify(BUILT_HOST_LIB)});
         await FileInUse.hold(${JSON.stringify(file)}); console.log("held"); setInterval(() => {}, 1000);`,
      ],
      { reject: false },
    );
    await new Promise<void>((resolve) => holder.stdout?.once("data", () => resolve()));
    expect(await removeUnlessInUse(file)).toBe(false);
    holder.kill("SIGKILL");
    await holder;
    expect(await removeUnlessInUse(file)).toBe(true);
    expect(await exists(file)).toBe(false);
  });

  it("a file that is gone cannot be held, and removing it again is fine", async () => {
    const file = path.join(folder.dir, "gone");
    expect(await FileInUse.hold(file)).toBeUndefined();
    expect(await removeUnlessInUse(file)).toBe(true);
  });
});
