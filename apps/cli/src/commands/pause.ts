import { addOptions, listOption } from "@wgp-farm/config";
import { setModelQueuesPaused } from "@wgp-farm/queue";
import type { Command } from "commander";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { formatTable, printJson } from "../output/format.js";

const PAUSE_OPTIONS = {
  model: listOption({
    flag: "--model",
    takes: "model...",
    description: "only these model types (default: every model queue)",
  }),
  ...FARM_COMMAND_OPTIONS,
};

function registerOne(program: Command, paused: boolean): void {
  const command = program
    .command(paused ? "pause" : "resume")
    .description(
      paused
        ? "stop handing out new jobs of some (default: every) model queue; running tasks finish"
        : "hand out jobs of paused model queues again",
    );
  const readOptions = addOptions(command, PAUSE_OPTIONS);
  command.addHelpText("after", "\nExit codes: 0 done, 1 unknown model, 2 usage or connection error.");
  command.action(async () => {
    const settings = readOptions();
    const states = await withFarm(settings, (farm) => setModelQueuesPaused(farm, paused, settings.model));
    if (settings.json) printJson(states);
    else if (states.length === 0) process.stdout.write("No model queues yet.\n");
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
