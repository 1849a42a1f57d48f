/**
 * The network-namespace hosts: a redis-server in the hub answers a host, not while that host's link
 * is cut (either way), and again once healed; the other host keeps its link; nothing is left behind.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canMakeNamespaces, NetLab, removeStaleLabs, SERVICE_ADDRESS } from "./net-lab.ts";
import { answersPing, RedisNode } from "./redis-node.ts";

const REDIS_PORT = 6379;

async function namespaces(): Promise<string[]> {
  return (await execa("ip", ["netns", "list"])).stdout
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter(Boolean);
}

// Namespaces need root (CAP_SYS_ADMIN); elsewhere (an unprivileged container) this says it was skipped.
describe.skipIf(!(await canMakeNamespaces()))("NetLab: hosts in network namespaces", () => {
  let lab: NetLab;
  let dir: string;
  let redis: RedisNode;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-net-lab-"));
    lab = await NetLab.create();
    redis = await RedisNode.start({
      host: SERVICE_ADDRESS,
      port: REDIS_PORT,
      dir,
      unixSocket: path.join(dir, "redis.sock"),
      wrap: (command, args) => lab.inHub(command, args),
    });
  });

  afterAll(async () => {
    await lab?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("reaches Redis from a host, not while its link is cut, and again after heal", async () => {
    const a = await lab.addHost("a");
    const b = await lab.addHost("b");
    const fromA = () => answersPing(SERVICE_ADDRESS, REDIS_PORT, (c, args) => a.command(c, args), 1_500);
    const fromB = () => answersPing(SERVICE_ADDRESS, REDIS_PORT, (c, args) => b.command(c, args), 1_500);
    expect(await fromA()).toBe(true);
    expect(await fromB()).toBe(true);
    // The harness itself (root namespace) reads it through its unix socket, never over the lab network.
    const socket = await execa("redis-cli", ["-s", path.join(dir, "redis.sock"), "PING"]);
    expect(socket.stdout).toBe("PONG");

    for (const mode of ["link-down", "drop"] as const) {
      await a.cut(mode);
      expect(a.isCut).toBe(mode);
      expect(await fromA(), `reachable while cut (${mode})`).toBe(false);
      expect(await fromB(), `the other host lost Redis while a was cut (${mode})`).toBe(true);
      await a.heal();
      expect(await fromA(), `not reachable after heal (${mode})`).toBe(true);
    }
    expect(redis.running).toBe(true);
  });

  it("removes its namespaces, with what runs in them, and a dead owner's stale ones", async () => {
    const mine = (await namespaces()).filter((name) => name.startsWith(lab.id));
    expect(mine).toContain(lab.hub);
    // A lab left by a run that was killed: its owner pid is gone.
    const gone = execa("true");
    await gone;
    const stale = `wgpf-${gone.pid}-dead-hub`;
    await execa("ip", ["netns", "add", stale]);
    expect(await removeStaleLabs()).toContain(stale);
    expect(await namespaces()).not.toContain(stale);
    expect(await namespaces()).toContain(lab.hub);

    await lab.remove();
    expect((await namespaces()).filter((name) => name.startsWith(lab.id))).toEqual([]);
    await expect.poll(() => redis.running, { timeout: 5_000 }).toBe(false);
  });
});
