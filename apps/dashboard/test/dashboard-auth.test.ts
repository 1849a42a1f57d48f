import http from "node:http";
import { afterEach, describe, expect, inject, it } from "vitest";
import { startDashboard } from "../src/index.js";
import {
  basicAuth,
  OPERATOR,
  openTestDashboard,
  TEST_CREDENTIALS,
  type TestDashboard,
} from "./support/test-dashboard.js";

/** fetch may not set Host; node:http may. Returns the status code. */
function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", reject);
  });
}

let open: TestDashboard | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe("dashboard authentication", () => {
  it("requires credentials: API calls get 401, pages redirect to the login form", async () => {
    open = await openTestDashboard();
    const api = await fetch(`${open.base}/queues/api/queues`);
    expect(api.status).toBe(401);
    const page = await fetch(`${open.base}/farm`, { headers: { Accept: "text/html" }, redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Ffarm");
    const metrics = await fetch(`${open.base}/metrics`);
    expect(metrics.status).toBe(401);
    // Health checks stay open for load balancers, and say nothing secret.
    const health = await fetch(`${open.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", redis: { reachable: true } });
  });

  it("accepts the password (basic auth) and the token (bearer); a wrong password is a 401 with a challenge", async () => {
    open = await openTestDashboard();
    expect((await fetch(`${open.base}/queues/api/queues`, { headers: OPERATOR })).status).toBe(200);
    const bearer = { Authorization: `Bearer ${TEST_CREDENTIALS.token}` };
    expect((await fetch(`${open.base}/farm/api/status`, { headers: bearer })).status).toBe(200);
    const wrong = await fetch(`${open.base}/queues/api/queues`, {
      headers: basicAuth("operator", "wrong password"),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "wrong credentials" });
    const badToken = await fetch(`${open.base}/queues/api/queues`, {
      headers: { Authorization: "Bearer nope" },
    });
    expect(badToken.status).toBe(401);
  });

  it("rate-limits wrong passwords: past the limit even the right one is refused with 429 until the window ends", async () => {
    open = await openTestDashboard({ loginThrottle: { maxFailures: 3, windowMs: 1500 } });
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${open.base}/metrics`, { headers: basicAuth("operator", `guess ${i}`) });
      expect(response.status).toBe(401);
    }
    const limited = await fetch(`${open.base}/metrics`, { headers: OPERATOR });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const form = await fetch(`${open.base}/login`, {
      method: "POST",
      body: new URLSearchParams({ username: "operator", password: TEST_CREDENTIALS.password as string }),
      redirect: "manual",
    });
    expect(form.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await fetch(`${open.base}/metrics`, { headers: OPERATOR })).status).toBe(200);
  });

  it("logs in through the form: a SameSite=Strict, HttpOnly session cookie opens the API; a wrong password is a 401 page", async () => {
    open = await openTestDashboard();
    const wrong = await fetch(`${open.base}/login`, {
      method: "POST",
      body: new URLSearchParams({ username: "operator", password: "not it at all", next: "/farm" }),
      redirect: "manual",
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong user name, password or token.");
    const login = await fetch(`${open.base}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: TEST_CREDENTIALS.token as string, next: "//evil.example/" }),
      redirect: "manual",
    });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/"); // never an open redirect
    const cookie = login.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^wgp_farm_session=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    const session = cookie.split(";")[0] as string;
    expect((await fetch(`${open.base}/farm/api/status`, { headers: { Cookie: session } })).status).toBe(200);
    // Among a browser's other cookies for the host, one of them not even well encoded.
    const crowded = `theme=dark; ${session}; broken=%E0%A4%A`;
    expect((await fetch(`${open.base}/farm/api/status`, { headers: { Cookie: crowded } })).status).toBe(200);
    const forged = `${session.slice(0, -3)}abc`;
    expect((await fetch(`${open.base}/farm/api/status`, { headers: { Cookie: forged } })).status).toBe(401);
  });

  it("sends security headers that Bull Board's page works with", async () => {
    open = await openTestDashboard();
    const page = await fetch(`${open.base}/queues/`, { headers: OPERATOR });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<base href="/queues/"');
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-powered-by")).toBeNull();
  });

  it("refuses to listen on a non-loopback address without credentials, and serves loopback without them", async () => {
    await expect(
      startDashboard({ redisUrl: inject("redisUrl"), host: "0.0.0.0", port: 0, credentials: null }),
    ).rejects.toThrow(/refusing to serve the dashboard on 0\.0\.0\.0 without credentials/);
    open = await openTestDashboard({ credentials: null });
    expect((await fetch(`${open.base}/queues/api/queues`)).status).toBe(200);
    // An open dashboard answers loopback names only (no DNS rebinding from a web page).
    const rebound = await rawGet(`${open.base}/queues/api/queues`, { Host: "evil.example" });
    expect(rebound).toBe(421);
  });
});
