import { z } from "zod";

/** The unit a number option is typed in, against the unit the program keeps it in. */
export interface Unit {
  /** What --help calls it: `--drain-timeout <s>`. */
  readonly name: string;
  /** Program units per typed unit: 1000 for seconds typed, milliseconds kept. */
  readonly scale: number;
}

/** Typed in seconds, kept in milliseconds. */
export const SECONDS: Unit = { name: "s", scale: 1000 };
/** Typed in minutes, kept in milliseconds. */
export const MINUTES: Unit = { name: "minutes", scale: 60_000 };

/**
 * One option, declared once: its flag, the environment variable that stands in for it, the unit it is
 * typed in, its default, and the schema that reads what was typed. Everything else (commander's
 * option, --help, the README's reference, the library's defaults) is made from this.
 */
export interface OptionField<T> {
  /** The long flag: `--drain-timeout`. */
  readonly flag: `--${string}`;
  /** What the flag takes in --help (`dir`, `url`, `arg...` for a repeatable one); absent for a switch. */
  readonly takes?: string;
  readonly env?: string;
  readonly description: string;
  /** Reads the typed text (a string, `true` for a switch, a string[] for a repeatable option). */
  readonly schema: z.ZodType<T>;
  /** In the program's unit (milliseconds for a SECONDS option). */
  readonly default?: T;
  /** The default as --help words it, where it is not one value ("one per GPU") or reads better so. */
  readonly defaultText?: string;
  /** Scales what the schema read (a number) into the program's unit. */
  readonly unit?: Unit;
  /** Shown in --help; the schema is what checks them. */
  readonly choices?: readonly string[];
  /** Without a flag, a variable or a default, reading the options fails and names this one. */
  readonly required?: boolean;
}

/** A field with a default: reading it never gives undefined. */
export type DefaultedField<T> = OptionField<T> & { readonly default: T };
/** A field that must be given: reading fails without it. */
export type RequiredField<T> = OptionField<T> & { readonly required: true };

type FieldSpec<T> = Omit<OptionField<T>, "default" | "required">;

/** Declares an option; its value is never undefined when it has a default or is required. */
export function option<T>(spec: FieldSpec<T> & { readonly default: T }): DefaultedField<T>;
export function option<T>(spec: FieldSpec<T> & { readonly required: true }): RequiredField<T>;
export function option<T>(spec: FieldSpec<T>): OptionField<T>;
export function option<T>(spec: OptionField<T>): OptionField<T> {
  return spec;
}

const SWITCH_TEXT: Record<string, boolean> = { "1": true, true: true, "0": false, false: false };

/** A switch (`--json`): true when given; its variable, if any, takes 1/true or 0/false. */
export function switchOption(spec: Omit<FieldSpec<boolean>, "schema" | "takes">): DefaultedField<boolean> {
  const schema = z.union([z.boolean(), z.string()]).transform((value, context) => {
    const on = typeof value === "boolean" ? value : SWITCH_TEXT[value.trim().toLowerCase()];
    if (on !== undefined) return on;
    context.addIssue({ code: "custom", message: "must be 1, true, 0 or false" });
    return z.NEVER;
  });
  return { ...spec, schema, default: false };
}

/** A repeatable option (`--wangp-arg <arg...>`); absent: an empty list. */
export function listOption(
  spec: Omit<FieldSpec<string[]>, "schema"> & { readonly takes: `${string}...` },
): DefaultedField<string[]> {
  return { ...spec, schema: z.array(z.string().min(1)), default: [] };
}

/** An option whose value is one of `choices`; checked by the schema, listed in --help. */
export function choiceOption<const C extends readonly [string, ...string[]]>(
  spec: Omit<FieldSpec<C[number]>, "schema" | "choices"> & {
    readonly choices: C;
    readonly default: C[number];
  },
): DefaultedField<C[number]> {
  return { ...spec, schema: z.enum(spec.choices) };
}

/** The `--flag <takes>` commander parses. */
export function flagsOf(field: OptionField<unknown>): string {
  const takes = field.takes ?? field.unit?.name;
  return takes ? `${field.flag} <${takes}>` : field.flag;
}

/** The default as --help and the README show it, in the unit the option is typed in. */
export function defaultTextOf(field: OptionField<unknown>): string | undefined {
  if (field.defaultText !== undefined) return field.defaultText;
  const value = field.default;
  if (value === undefined || typeof value === "boolean" || Array.isArray(value)) return undefined;
  if (field.unit && typeof value === "number") return String(value / field.unit.scale);
  return String(value);
}
