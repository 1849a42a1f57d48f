export { ApiKeys } from "./api-keys.js";
export {
  API_DEFAULTS,
  API_OPTION_SET,
  type ApiSettings,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
} from "./api-options.js";
export { type ApiTokenInfo, ApiTokenStore, TokenError } from "./auth/api-token-store.js";
export { DEFAULT_SCOPES, SCOPES, type Scope } from "./auth/scopes.js";
export { type ApiOptions, type RunningApi, startApi } from "./start-api.js";
