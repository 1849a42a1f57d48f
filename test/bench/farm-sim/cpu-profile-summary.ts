/**
 * Where a simulator host's CPU went: reads V8 `.cpuprofile` files (`farm-bench.ts --cpu-prof-dir`) and
 * prints self and inclusive time by function, self time by module, and time by the innermost function
 * of ours on the stack, over the busy phase (`busy-window.json` beside the profiles, written by the
 * simulation), or over the whole profiles with `--all` (`--timeline`: the CPU used per second).
 *
 *   node test/bench/farm-sim/cpu-profile-summary.ts [--all] [--top N] [--timeline] FILE...
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { BUSY_WINDOW_FILE } from "./farm-simulation.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Samples that are no JavaScript of the process's own work. */
const IDLE = new Set(["(idle)"]);

/** A file's package or our own module, so that time can be summed by where it is spent. */
function moduleOf(url: string): string {
  if (url === "") return "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  const ours = /\/((?:apps|libs)\/[^/]+)\/(?:dist|src)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url.replace(/^file:\/\/.*\/test\//, "test/");
}

/** Our own code: the apps, libs and the simulator, not a package of node_modules. */
function isOurs(url: string): boolean {
  return !url.includes("node_modules") && /\/(apps|libs|test)\//.test(url);
}

function functionOf({ callFrame: f }: ProfileNode): string {
  return `${f.functionName || "(anonymous)"} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
}

interface Tally {
  /** Sampled ms per function: spent in it (self) and in it or what it called (inclusive). */
  self: Map<string, number>;
  inclusive: Map<string, number>;
  byModule: Map<string, number>;
  /** Sampled ms by the innermost function of ours on the stack (what our code spent, libraries included). */
  byOwnCaller: Map<string, number>;
  /** Sampled ms that were not idle, per second of the profile. */
  perSecond: number[];
  busyMs: number;
  wallMs: number;
}

const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);

/** A stretch of the profiles' clock (monotonic µs, the same in every process). */
interface Window {
  fromUs: number;
  toUs: number;
}

function tally(profiles: readonly CpuProfile[], window: Window): Tally {
  const out: Tally = {
    self: new Map(),
    inclusive: new Map(),
    byModule: new Map(),
    byOwnCaller: new Map(),
    perSecond: [],
    busyMs: 0,
    wallMs: 0,
  };
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parentOf = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
    let atUs = profile.startTime;
    let firstUs: number | undefined;
    let lastUs = 0;
    for (const [i, id] of profile.samples.entries()) {
      // A sample's time is the delta to the next one (the last sample has none).
      atUs += profile.timeDeltas[i] ?? 0;
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      if (atUs < window.fromUs || atUs >= window.toUs) continue;
      const second = Math.floor((atUs - window.fromUs) / 1e6);
      firstUs ??= atUs;
      lastUs = atUs;
      const node = byId.get(id);
      if (!node || IDLE.has(node.callFrame.functionName)) continue;
      out.busyMs += ms;
      out.perSecond[second] = (out.perSecond[second] ?? 0) + ms;
      add(out.self, functionOf(node), ms);
      add(out.byModule, moduleOf(node.callFrame.url) || node.callFrame.functionName, ms);
      const seen = new Set<string>();
      let own: string | undefined;
      for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
        const caller = byId.get(at) as ProfileNode;
        const name = functionOf(caller);
        if (!seen.has(name)) add(out.inclusive, name, ms);
        seen.add(name);
        if (own === undefined && isOurs(caller.callFrame.url)) own = name;
      }
      add(out.byOwnCaller, own ?? "(no code of ours on the stack)", ms);
    }
    out.wallMs += (lastUs - (firstUs ?? lastUs)) / 1000;
  }
  return out;
}

function top(map: Map<string, number>, count: number, totalMs: number): string {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, ms]) =>
        `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)} %  ${name}`,
    )
    .join("\n");
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    all: { type: "boolean", default: false },
    jobs: { type: "string" },
    top: { type: "string", default: "30" },
    timeline: { type: "boolean", default: false },
  },
});
const profiles = await Promise.all(
  positionals.map(async (file) => JSON.parse(await readFile(file, "utf8")) as CpuProfile),
);
const windowFile = path.join(path.dirname(positionals[0] ?? "."), BUSY_WINDOW_FILE);
const window: Window = values.all
  ? { fromUs: Math.min(...profiles.map((p) => p.startTime)), toUs: Number.POSITIVE_INFINITY }
  : (JSON.parse(await readFile(windowFile, "utf8")) as Window);
const result = tally(profiles, window);
const count = Number(values.top);
const jobs = Number(values.jobs ?? Number.NaN);
const lines = [
  `${profiles.length} profile(s), ${values.all ? "whole" : "busy phase"}: ${result.busyMs.toFixed(0)} ms of CPU samples (not idle) over ${(result.wallMs / 1000 / profiles.length).toFixed(1)} s each` +
    (jobs > 0 ? `; ${(result.busyMs / jobs).toFixed(2)} ms per job of ${jobs}` : ""),
];
if (values.timeline) {
  lines.push("", "CPU ms per second (all profiles together):");
  lines.push(Array.from(result.perSecond, (ms, s) => `${s}:${Math.round(ms ?? 0)}`).join(" "));
}
lines.push("", "self time by module:", top(result.byModule, count, result.busyMs));
lines.push("", "self time by function:", top(result.self, count, result.busyMs));
lines.push(
  "",
  "by the innermost function of ours on the stack:",
  top(result.byOwnCaller, count, result.busyMs),
);
lines.push("", "inclusive time by function:", top(result.inclusive, count, result.busyMs));
process.stdout.write(`${lines.join("\n")}\n`);
