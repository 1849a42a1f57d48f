/**
 * The dashboard and its API under unauthenticated, wrongly authenticated, cross-site and malformed
 * requests — generated with fast-check over every Bull Board API route and the farm's own — against
 * real `wgp-farm dashboard` processes (with credentials; read-only; loopback without credentials). The
 * farm holds waiting, completed and failed tasks. Afterwards every Redis key under the farm's prefix
 * must be exactly as it was, no request may have had a 5xx, and every dashboard must still answer.
 */
import fc from "fast-check";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { DashboardProcess } from "../harness/dashboard-process.ts";
import { waitForAllFinished } from "../harness/farm-watch.ts";
import { type AttackRequest, type AttackResponse, send, sendRaw } from "../harness/http-attack.ts";
import { keyspaceChanges, snapshotKeyspace } from "../harness/keyspace.ts";
import { FAKE_WANGP } from "../harness/paths.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { stopWorker } from "../harness/scenario-steps.ts";
import { WorkerProcess } from "../harness/worker-process.ts";

const RUNS: Record<Scale, number> = { short: 60, full: 600 };
const PASSWORD = "chaos-password-1";
const TOKEN = "chaos-token-0123456789";
const BASIC = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}`;

/** Every state-changing route of Bull Board's API (under /queues) and of the farm view. */
const WRITE_ROUTES = [
  ["PUT", "/queues/api/queues/pause"],
  ["PUT", "/queues/api/queues/resume"],
  ["POST", "/queues/api/queues/:queue/add"],
  ["PUT", "/queues/api/queues/:queue/retry/failed"],
  ["PUT", "/queues/api/queues/:queue/retry/completed"],
  ["PUT", "/queues/api/queues/:queue/promote"],
  ["PUT", "/queues/api/queues/:queue/clean/completed"],
  ["PUT", "/queues/api/queues/:queue/clean/failed"],
  ["PUT", "/queues/api/queues/:queue/pause"],
  ["PUT", "/queues/api/queues/:queue/resume"],
  ["PUT", "/queues/api/queues/:queue/concurrency"],
  ["PUT", "/queues/api/queues/:queue/rate-limit"],
  ["PUT", "/queues/api/queues/:queue/rate-limit/release"],
  ["PUT", "/queues/api/queues/:queue/empty"],
  ["PUT", "/queues/api/queues/:queue/obliterate"],
  ["PUT", "/queues/api/queues/:queue/job-schedulers/s1/remove"],
  ["PATCH", "/queues/api/queues/:queue/job-schedulers/s1"],
  ["PUT", "/queues/api/queues/:queue/job-schedulers/s1/run"],
  ["PUT", "/queues/api/queues/:queue/:job/retry"],
  ["PUT", "/queues/api/queues/:queue/:job/clean"],
  ["PUT", "/queues/api/queues/:queue/:job/promote"],
  ["PATCH", "/queues/api/queues/:queue/:job/update-data"],
  ["PATCH", "/queues/api/queues/:queue/:job/delay"],
  ["PATCH", "/queues/api/queues/:queue/:job/priority"],
  ["PUT", "/queues/api/queues/:queue/:job/remove-unprocessed-children"],
  ["POST", "/queues/api/metrics/history/purge"],
  ["POST", "/farm/api/tasks/:job/cancel"],
  ["DELETE", "/queues/api/queues/:queue/:job"],
] as const;

const READ_ROUTES = [
  "/",
  "/farm",
  "/farm/api/status",
  "/metrics",
  "/queues",
  "/queues/api/queues",
  "/queues/api/redis/stats",
  "/queues/api/queues/:queue/metrics",
  "/queues/api/queues/:queue/workers",
  "/queues/api/queues/:queue/:job",
  "/queues/api/queues/:queue/:job/logs",
  "/queues/api/queues/:queue/:job/flow",
  "/assets/../../../../etc/passwd",
  "/assets/%2e%2e/%2e%2e/package.json",
  "/queues/static/..%2f..%2f..%2fpackage.json",
  "/%00",
  "/%zz",
  "/login?next=//evil.example/",
  "/login?next=https://evil.example/",
] as const;

const REAL_QUEUES = ["model.t2v", "model.nonexistent_model", "quarantine"];
const REAL_JOBS = ["atk-done-0", "atk-fail-0", "atk-wait-0"];

const weirdId = fc.oneof(
  fc.constantFrom("..", "%2e%2e", "%00", "a%2Fb", `nx-${"x".repeat(300)}`, "__proto__", "constructor"),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `nx-${encodeURIComponent(s)}`),
);

function fill(route: string, queue: string, job: string): string {
  return route.replace(":queue", queue).replace(":job", job);
}

const brokenBody = fc.constantFrom(
  { type: "application/json", body: '{"name": ' },
  { type: "application/json", body: "[" },
  { type: "application/json", body: "\u00ff\u00fe garbage" },
  { type: "application/json", body: `{"data": "${"x".repeat(2_000_000)}"}` },
  { type: "application/x-www-form-urlencoded", body: "a=%zz&b" },
  { type: "text/plain", body: "just text" },
  { type: "application/json", body: `${"[".repeat(100_000)}` },
);

/** A request to a state-changing route, on real queues and jobs (for the attacks that must all be refused). */
const writeOnRealThings = fc
  .record({
    route: fc.constantFrom(...WRITE_ROUTES),
    queue: fc.constantFrom(...REAL_QUEUES),
    job: fc.constantFrom(...REAL_JOBS),
    body: fc.option(
      fc.constantFrom(
        '{"name":"evil","data":{"task":{}}}',
        '{"delay":1}',
        '{"priority":1}',
        '{"concurrency":1}',
        "{}",
      ),
      { nil: undefined },
    ),
  })
  .map(({ route, queue, job, body }) => ({
    method: route[0] as string,
    path: fill(route[1], queue, job),
    body: body === undefined ? undefined : Buffer.from(body),
    contentType: "application/json",
  }));

/** A route filled in, without a body. */
function bodiless({ route, queue, job }: { route: readonly [string, string]; queue: string; job: string }) {
  return {
    method: route[0],
    path: fill(route[1], queue, job),
    body: undefined as Buffer | undefined,
    contentType: "application/json",
  };
}

/** Routes that act on one queue (and job): with an unknown queue they must do nothing. */
const QUEUE_ROUTES = WRITE_ROUTES.filter(([, path]) => path.includes(":queue") || path.includes(":job"));

/** Same-origin with valid credentials but unusable: garbage ids, broken bodies, bad escapes, odd methods. */
const malformedAuthenticated = fc.oneof(
  fc.record({ route: fc.constantFrom(...QUEUE_ROUTES), queue: weirdId, job: weirdId }).map(bodiless),
  fc
    .record({
      route: fc.constantFrom(...WRITE_ROUTES.filter(([, path]) => path.includes(":job"))),
      queue: fc.constantFrom(...REAL_QUEUES),
      job: weirdId,
    })
    .map(bodiless),
  fc
    .record({
      queue: fc.constantFrom(...REAL_QUEUES),
      body: brokenBody,
      route: fc.constantFrom(
        "/queues/api/queues/:queue/add",
        "/queues/api/queues/:queue/concurrency",
        "/queues/api/queues/:queue/rate-limit",
      ),
    })
    .map(({ queue, body, route }) => ({
      method: route.endsWith("add") ? "POST" : "PUT",
      path: fill(route, queue, ""),
      body: Buffer.from(body.body),
      contentType: body.type,
    })),
  fc
    .record({
      route: fc.constantFrom(...READ_ROUTES),
      queue: fc.oneof(fc.constantFrom(...REAL_QUEUES), weirdId),
      job: fc.oneof(fc.constantFrom(...REAL_JOBS), weirdId),
      method: fc.constantFrom("GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "CONNECT"),
    })
    .map(({ route, queue, job, method }) => ({
      method,
      path: fill(route, queue, job),
      body: undefined as Buffer | undefined,
      contentType: "text/plain",
    })),
);

/** A read or write request on anything, for the attacks without (valid) credentials. */
const anyRequest = fc.oneof(
  writeOnRealThings,
  malformedAuthenticated,
  fc.constantFrom(...READ_ROUTES).map((path) => ({
    method: "GET",
    path: fill(path, "model.t2v", "atk-done-0"),
    body: undefined as Buffer | undefined,
    contentType: "text/plain",
  })),
);

const wrongAuthorization = fc.oneof(
  fc.constantFrom(
    `Basic ${Buffer.from("admin:wrong-password").toString("base64")}`,
    `Basic ${Buffer.from(`root:${PASSWORD}`).toString("base64")}`,
    "Basic !!!not-base64!!!",
    "Basic ",
    "Bearer ",
    "Bearer wrong-token-0123456789",
    `Bearer ${TOKEN}x`,
    `bearer ${TOKEN.slice(0, -1)}`,
    `Digest username="admin"`,
    `Basic ${Buffer.from(`admin:${PASSWORD}\u0000`).toString("base64")}`,
  ),
  fc.string({ maxLength: 200 }).map((s) => `Basic ${Buffer.from(s).toString("base64")}`),
  fc
    .string({ maxLength: 100 })
    .filter((s) => /^[\x20-\x7e]*$/.test(s))
    .map((s) => `Bearer ${s}`),
);

const crossSite = fc.constantFrom(
  { origin: "https://evil.example" },
  { origin: "null" },
  { origin: "http://127.0.0.1.evil.example" },
  { "sec-fetch-site": "cross-site" },
  { "sec-fetch-site": "same-site" },
  { "sec-fetch-site": "none" },
  { "sec-fetch-site": "cross-site", origin: "https://evil.example" },
);

interface Tally {
  requests: number;
  statuses: Map<number, number>;
  serverErrors: string[];
  /** Requests that should have been refused but got a 2xx. */
  accepted: string[];
  /** Redirects to another site (an open redirect). */
  offsite: string[];
  ms: number[];
}

function record(
  tally: Tally,
  what: string,
  request: { method: string; path: string },
  response: AttackResponse,
  refused: boolean,
): void {
  tally.requests += 1;
  tally.statuses.set(response.status, (tally.statuses.get(response.status) ?? 0) + 1);
  tally.ms.push(response.ms);
  const line = `${what}: ${request.method} ${request.path.slice(0, 120)} → ${response.status}${response.error ? ` (${response.error})` : ""}`;
  if (response.status >= 500) tally.serverErrors.push(line);
  // The login page and /healthz are public on purpose.
  const publicPage = /^\/(login|logout|healthz|favicon\.ico)(\?|$)/.test(request.path);
  if (refused && !publicPage && response.status >= 200 && response.status < 300) tally.accepted.push(line);
  if (response.location && /^(https?:)?\/\//i.test(response.location))
    tally.offsite.push(`${line} to ${response.location}`);
}

/** Seeds the farm: completed, failed and waiting tasks, then no worker. */
async function seedFarm(chaos: ChaosFarm): Promise<void> {
  const done = Array.from({ length: 4 }, (_, i) => ({
    task_id: `atk-done-${i}`,
    prompt: "done",
    model: "t2v",
    steps: 1,
  }));
  const fail = Array.from({ length: 2 }, (_, i) => ({
    task_id: `atk-fail-${i}`,
    prompt: "fail",
    model: "nonexistent_model",
    steps: 1,
  }));
  await chaos.import([...done, ...fail], { attempts: 1, backoffMs: 100 });
  const worker = WorkerProcess.spawn(chaos, {
    name: "seed",
    slots: 1,
    engine: "dry-run",
    args: ["--dry-run-duration", "0", "--wangp-root", FAKE_WANGP],
  });
  await worker.ready;
  await waitForAllFinished(chaos, ["t2v", "nonexistent_model"], 6, 60_000);
  await stopWorker(worker);
  await chaos.import(
    Array.from({ length: 4 }, (_, i) => ({ task_id: `atk-wait-${i}`, prompt: "wait", model: "t2v" })),
    { attempts: 3, backoffMs: 100 },
  );
}

export async function dashboardAttackScenario(scale: Scale): Promise<ScenarioResult> {
  const runs = RUNS[scale];
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("dashboard");
  await seedFarm(chaos);
  const dashboards = await startDashboards(chaos);
  const violations: string[] = [];
  const cookie = await warmUpAndLogIn(dashboards, violations);
  const before = await snapshotKeyspace(chaos.farm.redis, chaos.prefix);
  const attack: AttackRun = { tallies: {}, runs };
  await attackWithRequestClasses(attack, dashboards, cookie);
  await attackLoginRedirects(attack, dashboards.secured);
  // Wrong credentials last: they trip the login throttle for this client.
  await attackWithWrongCredentials(attack, dashboards.secured);
  await attackWithMalformedHttp(attack, dashboards.secured);
  const changes = keyspaceChanges(before, await snapshotKeyspace(chaos.farm.redis, chaos.prefix));
  violations.push(...changes.map((change) => `Redis ${change}`));
  checkTallies(attack.tallies, violations);
  await checkDashboardsAnswer(dashboards, violations);
  await Promise.all(Object.values(dashboards).map((dashboard) => dashboard.stop()));
  await chaos.close(keepFiles(violations));
  return report({ attack, changes, violations, elapsed });
}

interface Dashboards {
  /** With a password and a token. */
  secured: DashboardProcess;
  /** `--read-only`, with a password. */
  readOnly: DashboardProcess;
  /** On loopback without credentials. */
  open: DashboardProcess;
}

async function startDashboards(chaos: ChaosFarm): Promise<Dashboards> {
  return {
    secured: await DashboardProcess.start(chaos, {
      env: { WGP_FARM_DASHBOARD_PASSWORD: PASSWORD, WGP_FARM_DASHBOARD_TOKEN: TOKEN },
    }),
    readOnly: await DashboardProcess.start(chaos, {
      env: { WGP_FARM_DASHBOARD_PASSWORD: PASSWORD },
      args: ["--read-only"],
    }),
    open: await DashboardProcess.start(chaos),
  };
}

/**
 * Warms every route once, so that lazily created things exist before the keyspace snapshot, and logs
 * in to the secured dashboard: its session cookie (a violation when there is none).
 */
async function warmUpAndLogIn(dashboards: Dashboards, violations: string[]): Promise<string> {
  const { secured, readOnly, open } = dashboards;
  for (const path of ["/farm/api/status", "/metrics", "/queues/api/queues"]) {
    await send(secured.url, { method: "GET", path, headers: { authorization: BASIC } });
    await send(readOnly.url, { method: "GET", path, headers: { authorization: BASIC } });
    await send(open.url, { method: "GET", path, headers: { host: "127.0.0.1" } });
  }
  const login = await fetch(new URL("login", secured.url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
    body: `username=admin&password=${PASSWORD}&next=/`,
    redirect: "manual",
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (!cookie.includes("=")) violations.push(`could not log in to the dashboard (${login.status})`);
  return cookie;
}

/** The tallies of one attack, per class of request, and how many requests each class draws. */
interface AttackRun {
  tallies: Record<string, Tally>;
  runs: number;
}

function tallyOf(attack: AttackRun, name: string): Tally {
  attack.tallies[name] ??= {
    requests: 0,
    statuses: new Map(),
    serverErrors: [],
    accepted: [],
    offsite: [],
    ms: [],
  };
  return attack.tallies[name];
}

interface GeneratedRequest {
  method: string;
  path: string;
  body: Buffer | undefined;
  contentType: string;
  headers: Record<string, string>;
}

/** Sends `runs` requests drawn from `arbitrary` to the dashboard; `refused`: none may be accepted. */
async function attackWith(
  attack: AttackRun,
  name: string,
  dashboard: DashboardProcess,
  arbitrary: fc.Arbitrary<GeneratedRequest>,
  refused: boolean,
): Promise<void> {
  const tally = tallyOf(attack, name);
  for (const generated of fc.sample(arbitrary, { numRuns: attack.runs })) {
    const request: AttackRequest = {
      method: generated.method,
      path: generated.path,
      headers: {
        ...(generated.body ? { "content-type": generated.contentType } : {}),
        ...generated.headers,
      },
      body: generated.body,
    };
    record(tally, name, request, await send(dashboard.url, request), refused);
  }
}

function withHeaders<T extends object>(
  arbitrary: fc.Arbitrary<T>,
  headers: fc.Arbitrary<object>,
): fc.Arbitrary<GeneratedRequest> {
  return fc.tuple(arbitrary, headers).map(([request, extra]) => ({
    ...(request as T & { method: string; path: string; body: Buffer | undefined; contentType: string }),
    headers: extra as Record<string, string>,
  }));
}

/** The generated classes of request, each against the dashboard it is aimed at. */
async function attackWithRequestClasses(
  attack: AttackRun,
  { secured, readOnly, open }: Dashboards,
  cookie: string,
): Promise<void> {
  // 1. No credentials at all (some looking like a browser, some not).
  await attackWith(
    attack,
    "unauthenticated",
    secured,
    withHeaders(
      anyRequest,
      fc.constantFrom(
        {},
        { accept: "text/html", "sec-fetch-mode": "navigate", "sec-fetch-site": "same-origin" },
        { cookie: "wgp_farm_session=forged.0123" },
        { cookie: "wgp_farm_session=" },
      ),
    ),
    true,
  );
  // 2. Valid credentials (basic, token, session cookie), but the request comes from another site.
  await attackWith(
    attack,
    "cross-site",
    secured,
    withHeaders(
      writeOnRealThings,
      fc
        .tuple(
          crossSite,
          fc.constantFrom({ authorization: BASIC }, { authorization: `Bearer ${TOKEN}` }, { cookie }),
        )
        .map(([site, auth]) => ({ ...site, ...auth })),
    ),
    true,
  );
  // 3. Valid credentials, same origin, malformed: unknown queues and jobs, broken bodies, odd methods and paths.
  await attackWith(
    attack,
    "malformed",
    secured,
    withHeaders(
      malformedAuthenticated,
      fc.constantFrom(
        { authorization: BASIC },
        { authorization: `Bearer ${TOKEN}` },
        { cookie, "sec-fetch-site": "same-origin" },
      ),
    ),
    false,
  );
  // 4. Read-only dashboard, valid credentials, same origin: every write on real queues and jobs.
  await attackWith(
    attack,
    "read-only",
    readOnly,
    withHeaders(writeOnRealThings, fc.constant({ authorization: BASIC })),
    true,
  );
  // 5. Dashboard without credentials (loopback only): cross-site writes, and any request with a foreign Host (DNS rebinding).
  await attackWith(attack, "open: cross-site", open, withHeaders(writeOnRealThings, crossSite), true);
  await attackWith(
    attack,
    "open: foreign Host",
    open,
    withHeaders(
      anyRequest,
      fc.constantFrom(
        { host: "evil.example" },
        { host: "evil.example:80" },
        { host: "127.0.0.1.nip.io" },
        { host: "[::2]" },
      ),
    ),
    true,
  );
}

/** The login form as an open redirect: every `next` must stay on this site. */
async function attackLoginRedirects(attack: AttackRun, secured: DashboardProcess): Promise<void> {
  const redirects = tallyOf(attack, "login redirects");
  for (const next of [
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "http:evil.example",
    " //evil.example",
  ]) {
    for (const body of [
      `username=admin&password=${PASSWORD}&next=${encodeURIComponent(next)}`,
      `password=wrong-password&next=${encodeURIComponent(next)}`,
    ]) {
      const request = {
        method: "POST",
        path: "/login",
        headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
        body: Buffer.from(body),
      };
      record(redirects, "login redirects", request, await send(secured.url, request), false);
    }
  }
}

async function attackWithWrongCredentials(attack: AttackRun, secured: DashboardProcess): Promise<void> {
  await attackWith(
    attack,
    "wrong credentials",
    secured,
    withHeaders(
      anyRequest,
      wrongAuthorization.map((authorization) => ({ authorization })),
    ),
    true,
  );
}

const RAW_REQUESTS = [
  "GARBAGE\r\n\r\n",
  "GET / HTTP/9.9\r\n\r\n",
  `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"b".repeat(70_000)}\r\n\r\n`,
  "PUT /queues/api/queues/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
  "PUT /queues/api/queues/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
  `PUT /queues/api/queues/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${BASIC}\r\nOrigin: https://evil.example\r\nContent-Length: 0\r\n\r\n`,
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
  "\u0000\u0001\u0002\u0003\r\n\r\n",
];

/** Malformed HTTP on the socket. */
async function attackWithMalformedHttp(attack: AttackRun, secured: DashboardProcess): Promise<void> {
  const raw = tallyOf(attack, "malformed HTTP");
  for (const text of RAW_REQUESTS) {
    const response = await sendRaw(secured.url, Buffer.from(text, "latin1"));
    record(raw, "malformed HTTP", { method: "RAW", path: JSON.stringify(text.slice(0, 60)) }, response, true);
  }
}

/** No 5xx, no refused request accepted, no redirect off-site (the first ten of each, per class). */
function checkTallies(tallies: Readonly<Record<string, Tally>>, violations: string[]): void {
  for (const [name, t] of Object.entries(tallies)) {
    violations.push(...t.serverErrors.slice(0, 10).map((line) => `5xx: ${line}`));
    if (t.serverErrors.length > 10) violations.push(`${name}: ${t.serverErrors.length - 10} more 5xx`);
    violations.push(...t.accepted.slice(0, 10).map((line) => `accepted: ${line}`));
    violations.push(...t.offsite.slice(0, 10).map((line) => `redirect off-site: ${line}`));
  }
}

async function checkDashboardsAnswer(dashboards: Dashboards, violations: string[]): Promise<void> {
  for (const dashboard of Object.values(dashboards)) {
    // No answer at all is a dashboard that stopped answering, reported below.
    const health = await fetch(new URL("healthz", dashboard.url)).catch(() => undefined);
    if (!dashboard.running || health?.status !== 200)
      violations.push(`a dashboard stopped answering: ${dashboard.output().slice(-500)}`);
  }
}

function statusesOf(tally: Tally): string {
  return [...tally.statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status === -1 ? "unsendable" : status === 0 ? "closed" : status}×${n}`)
    .join(" ");
}

interface Outcome {
  attack: AttackRun;
  changes: string[];
  violations: string[];
  elapsed: () => number;
}

function report({ attack, changes, violations, elapsed }: Outcome): ScenarioResult {
  const tallies = Object.values(attack.tallies);
  const total = tallies.reduce((sum, t) => sum + t.requests, 0);
  const ms = tallies.flatMap((t) => t.ms);
  return {
    id: "dashboard",
    title: "Dashboard and API under unauthenticated, cross-site and malformed requests",
    trials: total,
    tasks: 10,
    faults: total,
    lost: 0,
    duplicated: 0,
    escaped: changes.length,
    recoverMs: [],
    recoveryMeaning: "not applicable",
    violations,
    figures: [
      ...Object.entries(attack.tallies).map(([name, t]): [string, string] => [
        `${name} (${t.requests})`,
        statusesOf(t),
      ]),
      ["Redis keys under the farm's prefix changed", String(changes.length)],
      ["responses with a 5xx", String(tallies.reduce((sum, t) => sum + t.serverErrors.length, 0))],
      ["response time (median / max)", `${formatMs(median(ms))} / ${formatMs(Math.max(...ms))}`],
    ],
    method: [
      "Three `wgp-farm dashboard` processes on one farm holding completed, failed and waiting tasks: one with a password and a token, one `--read-only` with a password, one on loopback without credentials.",
      `fast-check draws ${attack.runs} requests per class over every state-changing route of Bull Board's API (pause/resume all, add, retry, promote, clean, empty, obliterate, concurrency, rate limits, job schedulers, job retry/clean/promote/update/delay/priority) and the farm view's cancel, on real queues and jobs, plus page and read routes, path traversal and bad escapes.`,
      "Classes: no credentials (forged session cookies included); valid credentials (basic, bearer, session cookie) from another site (Origin, Sec-Fetch-Site); valid and same-origin but unusable (unknown queues and jobs, broken and 2 MB bodies, odd methods); the read-only dashboard with valid credentials; the open dashboard from another site or with a foreign Host (DNS rebinding); wrong credentials; malformed HTTP on a raw socket. The Redis keyspace under the farm's prefix is fingerprinted (DUMP of every key without a time to live; leases and timers such as BullMQ's stalled-check come and go by themselves) before and after.",
    ],
    durationS: elapsed(),
  };
}
