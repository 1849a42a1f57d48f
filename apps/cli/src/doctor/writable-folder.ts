import { randomUUID } from "node:crypto";
import { stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

export interface FolderState {
  folder: string;
  exists: boolean;
  writable: boolean;
  /** The nearest existing folder above a missing one (where it would be created). */
  existingParent?: string;
  error?: string;
}

/** Proves a folder writable by writing and removing a file, as permissions alone do not tell (read-only mounts, ACLs, quotas). */
export async function probeFolder(folder: string): Promise<FolderState> {
  const resolved = path.resolve(folder);
  let current = resolved;
  for (;;) {
    try {
      if ((await stat(current)).isDirectory()) break;
      return { folder: resolved, exists: false, writable: false, error: `${current} is not a folder` };
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return { folder: resolved, exists: false, writable: false };
      current = parent;
    }
  }
  const probe = path.join(current, `.wgp-farm-doctor-${randomUUID()}`);
  try {
    await writeFile(probe, "probe\n");
    await unlink(probe);
    return {
      folder: resolved,
      exists: current === resolved,
      writable: true,
      ...(current === resolved ? {} : { existingParent: current }),
    };
  } catch (error) {
    return {
      folder: resolved,
      exists: current === resolved,
      writable: false,
      ...(current === resolved ? {} : { existingParent: current }),
      error: (error as NodeJS.ErrnoException).code ?? String(error),
    };
  }
}
