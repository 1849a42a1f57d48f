import { readFileSync } from "node:fs";
import { ConfigError } from "@wgp-farm/config";

/** Who may use the dashboard: a user name and password (basic auth, login form), a token, or both. */
export interface DashboardCredentials {
  username: string;
  password?: string | undefined;
  token?: string | undefined;
}

export const DEFAULT_USERNAME = "admin";

/** Environment variables read by `credentialsFromEnvironment` (documented in `wgp-farm dashboard --help`). */
export const CREDENTIAL_ENV = {
  username: "WGP_FARM_DASHBOARD_USER",
  password: "WGP_FARM_DASHBOARD_PASSWORD",
  token: "WGP_FARM_DASHBOARD_TOKEN",
  file: "WGP_FARM_DASHBOARD_CREDENTIALS_FILE",
} as const;

/** Shorter secrets are refused: the login is rate-limited, but a short password still falls fast. */
const MIN_SECRET_LENGTH = 8;

function checked(credentials: DashboardCredentials, source: string): DashboardCredentials | null {
  const { password, token } = credentials;
  if (!password && !token) return null;
  for (const [name, value] of [
    ["password", password],
    ["token", token],
  ] as const) {
    if (value !== undefined && value.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `${source}: the dashboard ${name} must be at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
  }
  return credentials;
}

/**
 * Reads a credentials file: JSON `{"user": "...", "password": "...", "token": "..."}` (every field
 * optional; at least a password or a token).
 */
export function credentialsFromFile(file: string): DashboardCredentials | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(`cannot read dashboard credentials file ${file}: ${(error as Error).message}`);
  }
  const fields = (parsed ?? {}) as Record<string, unknown>;
  const text = (key: string) =>
    typeof fields[key] === "string" && fields[key] !== "" ? (fields[key] as string) : undefined;
  const credentials = checked(
    { username: text("user") ?? DEFAULT_USERNAME, password: text("password"), token: text("token") },
    file,
  );
  if (!credentials)
    throw new ConfigError(`dashboard credentials file ${file} has neither a password nor a token`);
  return credentials;
}

/**
 * Credentials from the environment: a credentials file (WGP_FARM_DASHBOARD_CREDENTIALS_FILE), else
 * WGP_FARM_DASHBOARD_PASSWORD / WGP_FARM_DASHBOARD_TOKEN (user WGP_FARM_DASHBOARD_USER, default
 * `admin`). Null when none is set.
 */
export function credentialsFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): DashboardCredentials | null {
  const file = env[CREDENTIAL_ENV.file];
  if (file) return credentialsFromFile(file);
  return checked(
    {
      username: env[CREDENTIAL_ENV.username] || DEFAULT_USERNAME,
      password: env[CREDENTIAL_ENV.password] || undefined,
      token: env[CREDENTIAL_ENV.token] || undefined,
    },
    "environment",
  );
}
