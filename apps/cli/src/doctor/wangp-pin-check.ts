import type { HostRecord } from "@wgp-farm/queue";
import { type CheckResult, check } from "./check-result.js";
import type { WangpCheckout } from "./wangp-checkout.js";

const label = (version?: string, commit?: string) =>
  `${version ?? "unknown version"}${commit ? ` (${commit.slice(0, 10)})` : ""}`;

/** Every host should run the same WanGP commit: outputs, settings and bugs differ between versions. */
export function checkWangpPin(
  checkout: WangpCheckout,
  others: readonly HostRecord[],
): CheckResult | undefined {
  const compared = others.filter((record) => record.wangp_version || record.wangp_commit);
  if (compared.length === 0) return undefined;
  const differs = compared.filter((record) =>
    record.wangp_commit && checkout.commit
      ? record.wangp_commit !== checkout.commit
      : record.wangp_version !== checkout.version,
  );
  if (differs.length === 0) {
    return check("wangp", "wangp-pin", "ok", `same WanGP as ${compared.map((r) => r.host).join(", ")}`);
  }
  const list = differs.map((r) => `${r.host} runs ${label(r.wangp_version, r.wangp_commit)}`).join("; ");
  return check(
    "wangp",
    "wangp-pin",
    "warn",
    `this host runs ${label(checkout.version, checkout.commit)}; ${list}`,
    {
      fix: "pin one WanGP commit for the farm and check it out on every host (docs/operations.md, Upgrades); hosts last checked long ago may simply need wgp-farm doctor again",
      details: { differs },
    },
  );
}
