import { appendFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createLogger, type Logger } from "@wgp-farm/config";
import type { IdleReason, TakeRule } from "@wgp-farm/worker";

/** One scheduling decision of one slot, as its debug log line carried it. */
export type DecisionRecord = { slot: string; t: number } & (
  | { kind: "take"; model: string; switching: boolean; why?: TakeRule }
  | { kind: "idle"; recheckAt: number | null; why: IdleReason }
);

/** The line each slot logs after deciding (gpu-slot's debug log). */
const DECISION_MESSAGE = '"msg":"scheduling decision"';
const ERROR_LEVEL = 50;

export function decisionFile(dir: string, host: string): string {
  return path.join(dir, `${host}.decisions.jsonl`);
}

/**
 * A host's logger that keeps its slots' scheduling decisions (debug lines) in `file` and passes
 * errors on to stderr, as the simulator's plain logger (level error) would.
 */
export function decisionLogger(host: string, file: string): Logger {
  writeFileSync(file, "");
  return createLogger({
    name: host,
    level: "debug",
    pretty: false,
    destination: {
      write(line: string) {
        if (line.includes(DECISION_MESSAGE)) appendFileSync(file, line);
        else if ((JSON.parse(line) as { level: number }).level >= ERROR_LEVEL) process.stderr.write(line);
      },
    },
  });
}

interface DecisionLine {
  time: number;
  slot: string;
  next: Omit<DecisionRecord, "slot" | "t">;
}

/** Every decision logged in `files`, in time order. */
export async function readDecisions(files: readonly string[]): Promise<DecisionRecord[]> {
  const texts = await Promise.all(files.map((file) => readFile(file, "utf8").catch(() => "")));
  return texts
    .flatMap((text) => text.split("\n").filter(Boolean))
    .map((line) => {
      const { time, slot, next } = JSON.parse(line) as DecisionLine;
      return { ...next, slot, t: time } as DecisionRecord;
    })
    .sort((a, b) => a.t - b.t);
}
