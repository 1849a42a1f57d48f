import path from "node:path";
import { type CheckResult, check } from "./check-result.js";
import { checkPreflight } from "./preflight-check.js";
import { probePython } from "./python-probe.js";
import { inspectWangpCheckout, type WangpCheckout } from "./wangp-checkout.js";

function versionCheck(checkout: WangpCheckout): CheckResult {
  const commit = checkout.commit ? `, commit ${checkout.commit.slice(0, 10)}` : "";
  const details = { version: checkout.version ?? null, commit: checkout.commit ?? null };
  if (!checkout.version) {
    return check("wangp", "wangp-version", "warn", `no WanGP_version in wgp.py${commit}`, {
      fix: "check that the folder is an unmodified WanGP checkout",
      details,
    });
  }
  if (checkout.modified) {
    return check("wangp", "wangp-version", "warn", `WanGP ${checkout.version}${commit}, with local changes`, {
      fix: "every host should run the same pinned commit unmodified: git -C <root> stash or checkout the pin",
      details,
    });
  }
  return check("wangp", "wangp-version", "ok", `WanGP ${checkout.version}${commit}`, { details });
}

/** The checkout, its version, and whether the Python that will run it can import WanGP's API. */
export async function checkWangp(
  root: string,
  python: string,
  enginePyDir: string,
): Promise<{ checks: CheckResult[]; checkout: WangpCheckout }> {
  const checkout = await inspectWangpCheckout(root);
  if (!checkout.isDirectory) {
    return {
      checks: [
        check("wangp", "wangp-checkout", "fail", `${checkout.root} is not a folder`, {
          fix: "clone WanGP there (git clone https://github.com/deepbeepmeep/Wan2GP, then git checkout <pinned commit>) or fix --wangp-root / WGP_FARM_WANGP_ROOT",
        }),
      ],
      checkout,
    };
  }
  if (!checkout.hasApi) {
    return {
      checks: [
        check("wangp", "wangp-checkout", "fail", `${checkout.root} has no shared/api.py`, {
          fix: "point --wangp-root at a WanGP checkout of v10.981 or newer (shared/api.py appeared on 2026-03-10); update an older one",
        }),
      ],
      checkout,
    };
  }
  const checks = [
    check("wangp", "wangp-checkout", "ok", `${checkout.root} has shared/api.py`),
    versionCheck(checkout),
  ];
  if (!checkout.hasSettingsFolder) {
    checks.push(
      check("wangp", "wangp-settings-folder", "warn", "no settings/ folder in the checkout", {
        fix: `create it once: mkdir ${path.join(checkout.root, "settings")} (WanGP creates it at start-up in a way that fails when several slots start together)`,
      }),
    );
  }
  checks.push(...(await pythonChecks(python, checkout.root, enginePyDir)));
  return { checks, checkout };
}

async function pythonChecks(python: string, root: string, enginePyDir: string): Promise<CheckResult[]> {
  const probe = await probePython(python, root, enginePyDir);
  const pythonFix =
    "give the WanGP virtualenv's interpreter with --python or WGP_FARM_PYTHON (e.g. /opt/Wan2GP/venv/bin/python)";
  if (!probe.executable) {
    return [check("wangp", "python", "fail", `${python} not found`, { fix: pythonFix })];
  }
  if (probe.error || !probe.version) {
    return [
      check("wangp", "python", "fail", `${probe.executable} did not run: ${probe.error ?? "no version"}`, {
        fix: pythonFix,
      }),
    ];
  }
  const checks = [check("wangp", "python", "ok", `Python ${probe.version} (${probe.executable})`)];
  checks.push(
    probe.wangpApi?.ok
      ? check("wangp", "wangp-import", "ok", "import shared.api works")
      : check("wangp", "wangp-import", "fail", `import shared.api fails: ${probe.wangpApi?.error ?? "?"}`, {
          fix: "install WanGP's requirements into this interpreter (pip install -r requirements.txt in the WanGP virtualenv), or use the interpreter that has them",
        }),
  );
  checks.push(
    probe.bridge?.ok
      ? check("wangp", "engine-bridge", "ok", `engine-py importable from ${enginePyDir}`)
      : check("wangp", "engine-bridge", "fail", `import wgp_bridge fails: ${probe.bridge?.error ?? "?"}`, {
          fix: "run wgp-farm from a complete checkout or image of this project (engine-py/ next to apps/)",
        }),
  );
  if (probe.bridge?.ok) checks.push(...(await checkPreflight(probe.executable, root, enginePyDir)));
  return checks;
}
