import path from "node:path";
import { type CheckResult, check } from "./check-result.js";
import type { WangpCheckout } from "./wangp-checkout.js";
import { probeFolder } from "./writable-folder.js";

/**
 * The Wan 14B family's LoRA folder (`<loras root>/wan`), where the CausVid LoRA is downloaded when a
 * task asks for it. The root is config `loras_root`, else `loras`, relative to the WanGP root.
 */
export async function checkLoraFolder(checkout: WangpCheckout): Promise<CheckResult> {
  const configured = checkout.config?.loras_root;
  const lorasRoot = path.resolve(
    checkout.root,
    typeof configured === "string" && configured ? configured : "loras",
  );
  const folder = path.join(lorasRoot, "wan");
  const state = await probeFolder(folder);
  if (!state.writable) {
    return check(
      "folders",
      "lora-folder",
      "fail",
      `${folder} is not writable (${state.error ?? "no access"})`,
      {
        fix: `let the worker's user write there (chown -R <user> ${lorasRoot}); tasks with use_causvid_lora download the LoRA into it`,
      },
    );
  }
  const note = state.exists ? "" : ` (created on first use, in ${state.existingParent})`;
  return check("folders", "lora-folder", "ok", `${folder} writable${note}`);
}
