/** What a token may do. `admin` may do everything, to every token's tasks. */
export const SCOPES = ["submit", "read", "cancel", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export const DEFAULT_SCOPES: readonly Scope[] = ["submit", "read", "cancel"];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
