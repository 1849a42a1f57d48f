import type { OptionField } from "./option-field.js";

// biome-ignore lint/suspicious/noExplicitAny: a set holds fields of every value type
export type OptionSet = Readonly<Record<string, OptionField<any>>>;

/** What reading a field gives: its type, or undefined too when it has neither default nor `required`. */
export type ValueOf<F> =
  F extends OptionField<infer T>
    ? F extends { readonly default: T } | { readonly required: true }
      ? T
      : T | undefined
    : never;

export type OptionValues<S extends OptionSet> = { -readonly [K in keyof S]: ValueOf<S[K]> };

type DefaultedKeys<S extends OptionSet> = {
  [K in keyof S]: S[K] extends { readonly default: infer D } ? (D extends undefined ? never : K) : never;
}[keyof S];

/** Each field's default, keyed like the set: what a library applies to options its caller left out. */
export type OptionDefaults<S extends OptionSet> = {
  readonly [K in DefaultedKeys<S>]: Exclude<ValueOf<S[K]>, undefined>;
};

export function defaultsOf<S extends OptionSet>(set: S): OptionDefaults<S> {
  const defaults: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(set)) {
    if (field.default !== undefined) defaults[key] = field.default;
  }
  return defaults as OptionDefaults<S>;
}

/** The values of `set`'s fields among `values` (a command reads several sets at once). */
export function valuesOf<S extends OptionSet>(
  set: S,
  values: Readonly<Record<string, unknown>>,
): OptionValues<S> {
  return Object.fromEntries(Object.keys(set).map((key) => [key, values[key]])) as OptionValues<S>;
}
