import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDir } from "../src/output/make-dir.js";

let root: { dir: string; remove: () => Promise<void> };
/** A read-only tmpfs, where this process may mount one (root with CAP_SYS_ADMIN); otherwise undefined. */
let readOnly: string | undefined;

beforeAll(async () => {
  root = await temporaryDir("make-dir");
  const mountPoint = path.join(root.dir, "ro");
  await mkdir(path.join(mountPoint), { recursive: true });
  try {
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]);
    await mkdir(path.join(mountPoint, "existing"));
    await execa("mount", ["-o", "remount,ro", mountPoint]);
    readOnly = mountPoint;
  } catch {
    readOnly = undefined;
  }
});
afterAll(async () => {
  if (readOnly) await execa("umount", ["-l", readOnly], { reject: false });
  await root.remove();
});

describe("makeDir", () => {
  it("creates every missing level, and accepts a folder that exists", async () => {
    const deep = path.join(root.dir, "a", "b", "c");
    await makeDir(deep);
    await makeDir(deep);
    expect((await stat(deep)).isDirectory()).toBe(true);
  });

  // Found by the chaos suite: on a read-only output disk jobs failed with "ENOENT: no such file or
  // directory, mkdir …", Node's recursive mkdir's report of EROFS.
  it.skipIf(process.platform !== "linux")(
    "reports a read-only file system as EROFS, not ENOENT",
    async (context) => {
      if (!readOnly) context.skip();
      await expect(makeDir(path.join(readOnly as string, "existing", "new", "deeper"))).rejects.toMatchObject(
        {
          code: "EROFS",
        },
      );
    },
  );
});
