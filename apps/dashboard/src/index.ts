export {
  CREDENTIAL_ENV,
  credentialsFromEnvironment,
  credentialsFromFile,
  type DashboardCredentials,
  DEFAULT_USERNAME,
} from "./auth/credentials.js";
export { DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from "./auth/login-throttle.js";
export { DASHBOARD_VERSION } from "./package-version.js";
export {
  type DashboardOptions,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  type RunningDashboard,
  startDashboard,
} from "./start-dashboard.js";
