import { type Command, Option } from "commander";
import { ConfigError } from "../errors.js";
import { defaultTextOf, flagsOf, type OptionField } from "./option-field.js";
import type { OptionSet, OptionValues } from "./option-set.js";

const REQUIRED = new WeakSet<Option>();

/** Whether reading the option fails when no flag, variable or default gives it (for the README). */
export function isRequired(option: Option): boolean {
  return REQUIRED.has(option);
}

/**
 * The description --help prints: the field's own, then choices, default and variable. Unlike commander's
 * own, it shows a default that is only words ("the host name"), and prints values without quotes.
 */
export function describeOption(option: Option): string {
  const notes = [
    isRequired(option) ? "required" : "",
    option.argChoices ? `choices: ${option.argChoices.join(", ")}` : "",
    option.defaultValueDescription ? `default: ${option.defaultValueDescription}` : "",
    option.envVar ? `env: ${option.envVar}` : "",
  ].filter(Boolean);
  return notes.length > 0 ? `${option.description} (${notes.join(", ")})` : option.description;
}

function commanderOption(field: OptionField<unknown>): Option {
  const option = new Option(flagsOf(field), field.description);
  if (field.required && field.default === undefined) REQUIRED.add(option);
  if (field.env) option.env(field.env);
  // Switches and lists keep their default (false, []) to the reader, so --help does not print it.
  const takesOne = field.takes === undefined ? field.unit !== undefined : !field.takes.endsWith("...");
  if (field.default !== undefined && takesOne) option.default(field.default);
  option.defaultValueDescription = defaultTextOf(field);
  // Listed for --help only: the field's schema checks the value, so that a bad one is reported
  // with every other bad one, naming its flag and variable.
  if (field.choices) option.argChoices = [...field.choices];
  return option;
}

/** Where a value came from, for error messages: the flag, or the variable that stood in for it. */
function sourceOf(field: OptionField<unknown>, source: string | undefined): string {
  return source === "env" && field.env ? `${field.flag} (from ${field.env})` : field.flag;
}

/**
 * Adds the set's options to `command` with commander's own precedence (flag, then environment, then
 * default) and returns the reader the command's action calls: each value through its field's schema
 * and unit, every bad or missing one named with its flag (and variable) in one ConfigError.
 * An empty variable counts as unset, as in a compose file's `VAR=`.
 */
export function addOptions<S extends OptionSet>(command: Command, set: S): () => OptionValues<S> {
  const options = new Map<string, Option>();
  for (const [key, field] of Object.entries(set)) {
    const option = commanderOption(field);
    command.addOption(option);
    options.set(key, option);
  }
  command.configureHelp({ optionDescription: describeOption });
  return () => {
    const values: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [key, field] of Object.entries(set)) {
      const attribute = (options.get(key) as Option).attributeName();
      const source = command.getOptionValueSource(attribute);
      // commander keeps only `true` for a switch set by its variable: read the variable's text.
      const given =
        source === "env" && field.env ? process.env[field.env] : command.getOptionValue(attribute);
      if (source === "default" || given === undefined || (source === "env" && given === "")) {
        if (field.default !== undefined) values[key] = field.default;
        else if (field.required)
          problems.push(`${field.flag}${field.env ? ` (or ${field.env})` : ""} is required`);
        continue;
      }
      const parsed = field.schema.safeParse(given);
      if (!parsed.success) {
        problems.push(`${sourceOf(field, source)}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
        continue;
      }
      values[key] = field.unit ? (parsed.data as number) * field.unit.scale : parsed.data;
    }
    if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
    return values as OptionValues<S>;
  };
}
