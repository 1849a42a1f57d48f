import { createBullBoard } from "@bull-board/api";
import type { UIConfig } from "@bull-board/api/typings/app";
import { ExpressAdapter } from "@bull-board/express";
import { type FarmConnection, modelQueueName, QUARANTINE_QUEUE } from "@wgp-farm/queue";
import type { Express, Router } from "express";
import { farmBoardHooks } from "./farm-board-hooks.js";
import { FarmQueueAdapter } from "./farm-queue-adapter.js";
import { formatProgress, formatReturnValue } from "./job-formatters.js";

/**
 * Bull Board groups queues by splitting their names at a delimiter. Model types may contain dots
 * (`t2v_1.3B`), so the BullMQ name `model.<type>` cannot be split at "."; instead each queue gets a
 * board-only prefix naming its group, split at ":", which no queue name contains.
 */
const GROUP_DELIMITER = ":";
const MODELS_GROUP = "models";
const FARM_GROUP = "farm";

function groupPrefixOf(queueName: string): string {
  return `${queueName === QUARANTINE_QUEUE ? FARM_GROUP : MODELS_GROUP}${GROUP_DELIMITER}`;
}

/** The name Bull Board knows a queue by (in its URLs): the group prefix, then the BullMQ name. */
function boardNameOf(queueName: string): string {
  return `${groupPrefixOf(queueName)}${queueName}`;
}

export interface QueueBoardOptions {
  farm: FarmConnection;
  /** Where the board is mounted (`/queues`). */
  basePath: string;
  readOnly: boolean;
  uiConfig: UIConfig;
}

/** Bull Board over the farm's queues: every model queue and the quarantine queue, added as they appear. */
export class QueueBoard {
  readonly router: Router;
  private readonly shown = new Set<string>();
  private readonly board: ReturnType<typeof createBullBoard>;

  private constructor(private readonly options: QueueBoardOptions) {
    const serverAdapter = new ExpressAdapter().setBasePath(options.basePath);
    this.board = createBullBoard({
      queues: [],
      serverAdapter,
      options: { uiConfig: options.uiConfig, handlerHooks: farmBoardHooks(options.farm) },
    });
    const app = serverAdapter.getRouter() as Express;
    // Bull Board mounts an express app of its own, which would announce itself in X-Powered-By.
    app.disable("x-powered-by");
    this.router = app;
  }

  static async create(options: QueueBoardOptions): Promise<QueueBoard> {
    const board = new QueueBoard(options);
    await board.refresh();
    return board;
  }

  /** Adds the queues of models registered since the last call; returns their names. */
  async refresh(): Promise<string[]> {
    const names = [QUARANTINE_QUEUE, ...(await this.options.farm.queues.knownModels()).map(modelQueueName)];
    const added = names.filter((name) => !this.shown.has(name));
    for (const name of added) this.show(name);
    return added;
  }

  /** The board's page of a queue. */
  urlOf(queueName: string): string {
    return `${this.options.basePath}/queue/${encodeURIComponent(boardNameOf(queueName))}`;
  }

  private show(queueName: string): void {
    const { farm, readOnly } = this.options;
    const quarantine = queueName === QUARANTINE_QUEUE;
    const adapter = new FarmQueueAdapter(farm, queueName, {
      readOnlyMode: readOnly,
      // A retry inside the quarantine queue would run nothing (no worker reads it): `wgp-farm retry`
      // moves a quarantined task back into its model queue instead.
      allowRetries: !readOnly && !quarantine,
      // The job page links to the farm view of the task: its preview, video and result.
      externalJobUrl: (job) => ({
        displayText: "Result in the farm view",
        href: `/farm?task=${encodeURIComponent(String(job.id))}`,
      }),
      prefix: groupPrefixOf(queueName),
      delimiter: GROUP_DELIMITER,
      displayName: queueName,
      description: quarantine
        ? "Tasks that kept killing workers, kept with their history. Retry one with `wgp-farm retry <task_id>`."
        : `Tasks for WanGP model type ${queueName.slice("model.".length)}.`,
    });
    adapter.setFormatter("progress", formatProgress);
    adapter.setFormatter("returnValue", formatReturnValue);
    this.board.addQueue(adapter);
    this.shown.add(queueName);
  }
}
