import { type FarmConnection, modelQueueName, readFarmStatus } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { CompletedJobTimings } from "./completed-job-timings.js";
import { FarmMetrics } from "./farm-metrics.js";

/** GET /metrics: the farm in Prometheus text format, read from Redis at each scrape. */
export class MetricsRoute {
  private readonly metrics = new FarmMetrics();
  private readonly timings: CompletedJobTimings;

  constructor(private readonly farm: FarmConnection) {
    this.timings = new CompletedJobTimings(farm, this.metrics.timings);
  }

  /** Reads the completed jobs Redis keeps, so that the first scrape does not have to. */
  async warmUp(): Promise<void> {
    await this.timings.catchUp((await this.farm.queues.knownModels()).map(modelQueueName));
  }

  readonly handler: RequestHandler = async (_req: Request, res: Response) => {
    const status = await readFarmStatus(this.farm);
    await this.timings.catchUp(status.queues.map((queue) => queue.queue));
    this.metrics.update(status);
    res
      .set("Cache-Control", "no-store")
      .type(this.metrics.registry.contentType)
      .send(await this.metrics.registry.metrics());
  };
}
