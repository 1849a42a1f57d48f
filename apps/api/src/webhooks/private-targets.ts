import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { UserError } from "@wgp-farm/config";

/** Loopback, link-local, private, shared, unspecified and multicast ranges: never a webhook's target by default. */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

export class WebhookTargetError extends UserError {
  override name = "WebhookTargetError";
}

export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

function isPrivate(address: string, family: 4 | 6): boolean {
  if (family === 6 && address.toLowerCase().startsWith("::ffff:")) {
    const mapped = address.slice(7);
    if (isIP(mapped) === 4) return PRIVATE.check(mapped, "ipv4");
  }
  return PRIVATE.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * Resolves a webhook URL and refuses it when any address it resolves to is on loopback, link-local or
 * a private range (unless `allowPrivate`). The delivery then connects to the address checked here, so
 * a DNS answer that changes in between cannot point it elsewhere.
 */
export async function resolveWebhookTarget(raw: string, allowPrivate: boolean): Promise<ResolvedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError(
      `'${raw}' is not a URL; give an http(s) URL such as https://example.com/hook`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new WebhookTargetError(`'${raw}' must be an http or https URL`);
  }
  if (url.username || url.password)
    throw new WebhookTargetError("a webhook URL must not carry a user or password");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
  } catch (error) {
    throw new WebhookTargetError(`cannot resolve the webhook host '${host}': ${(error as Error).message}`);
  }
  const first = addresses[0];
  if (!first) throw new WebhookTargetError(`the webhook host '${host}' has no address`);
  if (!allowPrivate) {
    const blocked = addresses.find(({ address, family }) => isPrivate(address, family as 4 | 6));
    if (blocked) {
      throw new WebhookTargetError(
        `webhook target ${url.host} resolves to ${blocked.address}, a loopback, link-local or private address; ` +
          "an operator may allow such targets (--allow-private-targets, WGP_FARM_WEBHOOK_ALLOW_PRIVATE=1)",
      );
    }
  }
  return { url, address: first.address, family: first.family as 4 | 6 };
}
