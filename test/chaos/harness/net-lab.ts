/**
 * Hosts on a private network made of Linux network namespaces: a hub namespace that holds the
 * shared service (Redis) at SERVICE_ADDRESS, and one namespace per "host", joined to the hub by a veth
 * pair of its own, so that one host's link can be cut (link down, or every packet dropped) and healed
 * while the others keep talking. Every address lives in 10.213.0.0/16 on interfaces made here, inside
 * namespaces made here: no packet can reach a real network. Needs root (`ip netns`).
 *
 * Names carry the owner's pid (`wgpf-<pid>-<run>-<role>`): a lab whose owner is gone (a killed test
 * run) is removed by the next `NetLab.create`, and every lab is removed when its owner exits.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { bestEffort } from "@wgp-farm/config";
import { execa } from "execa";
import { harnessLog } from "./harness-log.ts";
import { isAlive } from "./process-tree.ts";

const PREFIX = "wgpf";
/** The service's address, on the hub's loopback; every host routes to it through its own link. */
export const SERVICE_ADDRESS = "10.213.0.1";
/** The host side of every link. */
const HOST_IF = "uplink";

/** How a cut link loses its packets. */
export type CutMode =
  /** The host's side of its link is set down: connects fail at once (no route). */
  | "link-down"
  /** The link stays up and every packet is dropped silently, both ways (netem loss 100 %). */
  | "drop";

async function ip(...args: string[]): Promise<string> {
  return (await execa("ip", args)).stdout;
}

/** `ip netns exec <ns> <command> <args…>`: the argv that runs a command inside a namespace. */
export function inNamespace(namespace: string, command: string, args: readonly string[] = []): string[] {
  return ["ip", "netns", "exec", namespace, command, ...args];
}

/** Kills what still runs in a namespace (what this harness started there), then removes it. */
async function removeNamespace(namespace: string): Promise<void> {
  const pids = (await execa("ip", ["netns", "pids", namespace], { reject: false })).stdout;
  for (const pid of pids.split("\n").filter(Boolean)) {
    if (isAlive(Number(pid))) process.kill(Number(pid), "SIGKILL");
  }
  await execa("ip", ["netns", "del", namespace], { reject: false });
}

/** The lab namespaces on this machine: `wgpf-<pid>-…`, with the pid of the process that made them. */
async function labNamespaces(): Promise<Array<{ name: string; ownerPid: number }>> {
  const listing = await ip("netns", "list");
  return listing
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .flatMap((name) => {
      const match = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
      return match ? [{ name, ownerPid: Number(match[1]) }] : [];
    });
}

/** Removes the namespaces of labs whose owner is gone (a run killed before it could clean up). */
export async function removeStaleLabs(): Promise<string[]> {
  const stale = (await labNamespaces()).filter((ns) => ns.ownerPid !== process.pid && !isAlive(ns.ownerPid));
  for (const ns of stale) await removeNamespace(ns.name);
  return stale.map((ns) => ns.name);
}

/** Whether this process may make network namespaces (root with CAP_SYS_ADMIN and `ip` present). */
export async function canMakeNamespaces(): Promise<boolean> {
  const probe = `${PREFIX}-${process.pid}-probe`;
  // reject: false: a missing `ip` is a failed result too, not a throw.
  const made = await execa("ip", ["netns", "add", probe], { reject: false });
  if (made.exitCode !== 0) return false;
  await removeNamespace(probe);
  return true;
}

/** Whether this kernel has netem; where it has not, a zero-length pfifo drops every packet instead. */
async function hasNetem(namespace: string, device: string): Promise<boolean> {
  const tried = await execa(
    "ip",
    ["netns", "exec", namespace, "tc", "qdisc", "add", "dev", device, "root", "netem"],
    {
      reject: false,
    },
  );
  if (tried.exitCode !== 0) return false;
  await execa("ip", ["netns", "exec", namespace, "tc", "qdisc", "del", "dev", device, "root"], {
    reject: false,
  });
  return true;
}

export class NetHost {
  readonly name: string;
  readonly namespace: string;
  /** The /30 of this host's link: the hub end is .1, the host end .2. */
  readonly hubAddress: string;
  readonly address: string;
  readonly #lab: NetLab;
  readonly #hubIf: string;
  #cut: CutMode | undefined;

  constructor(lab: NetLab, name: string, namespace: string, index: number, hubIf: string) {
    this.#lab = lab;
    this.name = name;
    this.namespace = namespace;
    this.hubAddress = `10.213.${index}.1`;
    this.address = `10.213.${index}.2`;
    this.#hubIf = hubIf;
  }

  /** The argv that runs `command` on this host (exec keeps the pid: signals reach the command itself). */
  command(command: string, args: readonly string[] = []): string[] {
    return inNamespace(this.namespace, command, args);
  }

  get isCut(): CutMode | undefined {
    return this.#cut;
  }

  /** Cuts this host off the hub (and so off the service); the other hosts keep their links. */
  async cut(mode: CutMode): Promise<void> {
    if (this.#cut) await this.heal();
    if (mode === "link-down") await ip("-n", this.namespace, "link", "set", HOST_IF, "down");
    else {
      const qdisc = (await this.#lab.dropQdisc()).split(" ");
      await ip("netns", "exec", this.namespace, "tc", "qdisc", "replace", "dev", HOST_IF, "root", ...qdisc);
      await ip(
        "netns",
        "exec",
        this.#lab.hub,
        "tc",
        "qdisc",
        "replace",
        "dev",
        this.#hubIf,
        "root",
        ...qdisc,
      );
    }
    this.#cut = mode;
  }

  /** Gives the link back: up, no packet dropped, the route to the service in place again. */
  async heal(): Promise<void> {
    for (const [namespace, device] of [
      [this.namespace, HOST_IF],
      [this.#lab.hub, this.#hubIf],
    ] as const) {
      await execa("ip", ["netns", "exec", namespace, "tc", "qdisc", "del", "dev", device, "root"], {
        reject: false,
      });
    }
    await ip("-n", this.namespace, "link", "set", HOST_IF, "up");
    // A link set down loses the routes through it.
    await ip("-n", this.namespace, "route", "replace", `${SERVICE_ADDRESS}/32`, "via", this.hubAddress);
    this.#cut = undefined;
  }
}

export class NetLab {
  /** `wgpf-<pid>-<run>`: the start of every namespace name of this lab. */
  readonly id: string;
  /** The namespace that holds the service at SERVICE_ADDRESS. */
  readonly hub: string;
  readonly #hosts: NetHost[] = [];
  #dropQdisc: Promise<string> | undefined;
  #removed = false;
  readonly #removeOnExit = () => this.#removeNow();

  private constructor(id: string) {
    this.id = id;
    this.hub = `${id}-hub`;
  }

  /** Removes stale labs, then makes the hub with the service address on its loopback. */
  static async create(): Promise<NetLab> {
    await removeStaleLabs();
    const lab = new NetLab(`${PREFIX}-${process.pid}-${randomBytes(2).toString("hex")}`);
    process.once("exit", lab.#removeOnExit);
    try {
      await ip("netns", "add", lab.hub);
      await ip("-n", lab.hub, "link", "set", "lo", "up");
      await ip("-n", lab.hub, "addr", "add", `${SERVICE_ADDRESS}/32`, "dev", "lo");
    } catch (error) {
      await lab.remove();
      throw error;
    }
    return lab;
  }

  hosts(): readonly NetHost[] {
    return this.#hosts;
  }

  /** The argv that runs `command` in the hub (where the service runs). */
  inHub(command: string, args: readonly string[] = []): string[] {
    return inNamespace(this.hub, command, args);
  }

  /** A new host namespace joined to the hub by its own link (up to 250 hosts). */
  async addHost(name: string): Promise<NetHost> {
    if (!/^[a-z0-9-]{1,20}$/.test(name))
      throw new Error(`host name '${name}': lower-case letters, digits, '-'`);
    const index = this.#hosts.length + 1;
    if (index > 250) throw new Error("a lab holds at most 250 hosts");
    const namespace = `${this.id}-${name}`;
    const hubIf = `host${index}`;
    const host = new NetHost(this, name, namespace, index, hubIf);
    await ip("netns", "add", namespace);
    this.#hosts.push(host);
    await ip("-n", namespace, "link", "set", "lo", "up");
    // Made straight inside the two namespaces: the root namespace never holds either end.
    await ip(
      "link",
      "add",
      HOST_IF,
      "netns",
      namespace,
      "type",
      "veth",
      "peer",
      "name",
      hubIf,
      "netns",
      this.hub,
    );
    await ip("-n", this.hub, "addr", "add", `${host.hubAddress}/30`, "dev", hubIf);
    await ip("-n", this.hub, "link", "set", hubIf, "up");
    await ip("-n", namespace, "addr", "add", `${host.address}/30`, "dev", HOST_IF);
    await ip("-n", namespace, "link", "set", HOST_IF, "up");
    await ip("-n", namespace, "route", "replace", `${SERVICE_ADDRESS}/32`, "via", host.hubAddress);
    return host;
  }

  /** The qdisc that drops everything: netem loss 100 % where the kernel has netem, else pfifo limit 0. */
  dropQdisc(): Promise<string> {
    this.#dropQdisc ??= (async () => {
      const host = this.#hosts[0];
      const netem = host ? await hasNetem(host.namespace, HOST_IF) : false;
      return netem ? "netem loss 100%" : "pfifo limit 0";
    })();
    return this.#dropQdisc;
  }

  /** Kills what runs in the lab's namespaces and removes them (their links go with them). */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    process.off("exit", this.#removeOnExit);
    for (const namespace of [...this.#hosts.map((host) => host.namespace), this.hub]) {
      await bestEffort(
        removeNamespace(namespace),
        harnessLog,
        `removing network namespace ${namespace}`,
        "warn",
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }

  /** At exit (no more awaiting): the same, synchronously. */
  #removeNow(): void {
    if (this.#removed) return;
    this.#removed = true;
    for (const namespace of [...this.#hosts.map((host) => host.namespace), this.hub]) {
      try {
        const pids = execFileSync("ip", ["netns", "pids", namespace], { encoding: "utf8" });
        for (const pid of pids.split("\n").filter(Boolean))
          if (isAlive(Number(pid))) process.kill(Number(pid), "SIGKILL");
        execFileSync("ip", ["netns", "del", namespace], { stdio: "ignore" });
      } catch {
        // Exiting: what is left is removed by the next NetLab.create (its owner pid is gone).
      }
    }
  }
}
