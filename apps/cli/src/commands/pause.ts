import { addOptions, listOption } from "@wgp-farm/config";
import { setQueuesPaused } from "@wgp-farm/queue";
import type { Command } from "commander";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { formatTable, printJson } from "../output/format.js";

const PAUSE_OPTIONS = {
  model: listOption({
    flag: "--model",
    takes: "model...",
    description: "only these model types' queues (default: every queue, the stitch queue included)",
  }),
  queue: listOption({
    flag: "--queue",
    takes: "queue...",
    description: "only these queues, by name: model.<model_type>, or stitch for flows' stitches",
  }),
  ...FARM_COMMAND_OPTIONS,
};

function registerOne(program: Command, paused: boolean): void {
  const command = program
    .command(paused ? "pause" : "resume")
    .description(
      paused
        ? "stop handing out new jobs of some (default: every) queue; running tasks finish"
        : "hand out jobs of paused queues again",
    );
  const readOptions = addOptions(command, PAUSE_OPTIONS);
  command.addHelpText(
    "after",
    "\nExit codes: 0 done, 1 unknown model or queue, 2 usage or connection error.",
  );
  command.action(async () => {
    const settings = readOptions();
    const states = await withFarm(settings, (farm) =>
      setQueuesPaused(farm, paused, { models: settings.model, queues: settings.queue }),
    );
    if (settings.json) printJson(states);
    else if (states.length === 0) process.stdout.write("No queues yet.\n");
    else {
      const rows = states.map((state) => [state.queue, state.paused ? "paused" : "running"]);
      process.stdout.write(`${formatTable(["QUEUE", "STATE"], rows)}\n`);
    }
  });
}

/** `wgp-farm pause` and `wgp-farm resume`: the same command, each way. */
export function registerPauseResume(program: Command): void {
  registerOne(program, true);
  registerOne(program, false);
}
