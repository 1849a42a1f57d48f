import { CommandFailedError, findExecutable, runCommand } from "@wgp-farm/host";

export interface PythonProbe {
  python: string;
  /** Absolute path of the interpreter, when found. */
  executable?: string;
  version?: string;
  /** `import shared.api` (WanGP's public API) in the WanGP root: the same import engine-py does. */
  wangpApi?: { ok: boolean; error?: string };
  /** `import wgp_bridge` from engine-py. */
  bridge?: { ok: boolean; error?: string };
  /** Set when the interpreter could not run the probe at all. */
  error?: string;
}

const MARKER = "WGP_FARM_DOCTOR_PROBE ";

// Imports print (WanGP's own modules do), so the answer is the one line that starts with MARKER.
const PROBE = `
import json, platform, sys
root, engine_py = sys.argv[1], sys.argv[2]
out = {"version": platform.python_version(), "executable": sys.executable}
def attempt(name, path):
    sys.path.insert(0, path)
    try:
        __import__(name)
        return {"ok": True}
    except BaseException as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
out["wangpApi"] = attempt("shared.api", root)
out["bridge"] = attempt("wgp_bridge", engine_py)
print(${JSON.stringify(MARKER)} + json.dumps(out), flush=True)
`;

/** Runs the Python that will run WanGP and tries the imports engine-py needs. */
export async function probePython(
  python: string,
  wangpRoot: string,
  enginePyDir: string,
  timeoutMs = 180_000,
): Promise<PythonProbe> {
  const executable = await findExecutable(python);
  if (!executable) return { python, error: `${python} not found` };
  try {
    const { stdout } = await runCommand(executable, ["-c", PROBE, wangpRoot, enginePyDir], {
      cwd: wangpRoot,
      timeoutMs,
    });
    const line = stdout.split("\n").find((l) => l.startsWith(MARKER));
    if (!line) return { python, executable, error: "the probe printed no answer" };
    return { python, ...(JSON.parse(line.slice(MARKER.length)) as Omit<PythonProbe, "python">) };
  } catch (error) {
    const message = error instanceof CommandFailedError ? error.message : String(error);
    return { python, executable, error: message.slice(-500) };
  }
}
