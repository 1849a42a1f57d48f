/** Every scenario of the chaos suite, in the order a run goes through them. */
import type { Scale, ScenarioResult } from "../harness/scenario-result.ts";
import { badInputScenario } from "./bad-input.ts";
import { dashboardAttackScenario } from "./dashboard-attack.ts";
import { diskUnwritableScenario } from "./disk-unwritable.ts";
import { engineProtocolScenario } from "./engine-protocol.ts";
import { flowKillScenario } from "./flow-kill.ts";
import { frozenWorkerScenario } from "./frozen-worker.ts";
import { hangAndOomScenario } from "./hang-and-oom.ts";
import { loadScenario } from "./load.ts";
import { partitionedHostScenario } from "./partitioned-host.ts";
import { redisFailoverScenario } from "./redis-failover.ts";
import { redisRestartScenario } from "./redis-restart.ts";
import { sigkillScenario } from "./sigkill.ts";
import { sigtermDrainScenario } from "./sigterm-drain.ts";
import { submitKillScenario } from "./submit-kill.ts";
import { webhookKillScenario } from "./webhook-kill.ts";

export interface Scenario {
  id: string;
  run: (scale: Scale) => Promise<ScenarioResult>;
}

export const SCENARIOS: Scenario[] = [
  { id: "sigkill", run: sigkillScenario },
  { id: "redis-restart", run: redisRestartScenario },
  { id: "redis-failover", run: redisFailoverScenario },
  { id: "hang-oom", run: hangAndOomScenario },
  { id: "sigterm-drain", run: sigtermDrainScenario },
  { id: "disk-unwritable", run: diskUnwritableScenario },
  { id: "load", run: loadScenario },
  { id: "bad-input", run: badInputScenario },
  { id: "engine-protocol", run: engineProtocolScenario },
  { id: "dashboard", run: dashboardAttackScenario },
  { id: "frozen-worker", run: frozenWorkerScenario },
  { id: "partitioned-host", run: partitionedHostScenario },
  { id: "webhook-kill", run: webhookKillScenario },
  { id: "submit-kill", run: submitKillScenario },
  { id: "flow-kill", run: flowKillScenario },
];
