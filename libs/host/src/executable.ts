import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";

/** The absolute path of `name` as a shell would find it on PATH, or undefined. */
export async function findExecutable(
  name: string,
  searchPath: string = process.env.PATH ?? "",
): Promise<string | undefined> {
  if (name.includes("/")) return (await isExecutableFile(name)) ? path.resolve(name) : undefined;
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
