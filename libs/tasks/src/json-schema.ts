import { z } from "zod";
import { StitchTaskFieldsSchema, TASK_FIELD_TO_WANGP_KEY, TaskFieldsSchema } from "./task-schema.js";
import { WANGP_SETTING_NAMES } from "./wangp-catalog.js";

type JsonSchemaObject = Record<string, unknown> & {
  properties?: Record<string, unknown>;
  required?: string[];
};

/**
 * JSON Schema (draft 2020-12) of a tasks.json file, for editors. The task fields are typed; WanGP's own
 * settings are listed by name so that an editor flags a misspelt key the way the importer does.
 */
export function taskListJsonSchema(): Record<string, unknown> {
  const task = z.toJSONSchema(TaskFieldsSchema, { io: "input", unrepresentable: "any" }) as JsonSchemaObject;
  const properties = { ...(task.properties ?? {}) };
  const aliases = new Set<string>(Object.values(TASK_FIELD_TO_WANGP_KEY));
  for (const name of WANGP_SETTING_NAMES) {
    if (name in properties) continue;
    properties[name] = {
      description: aliases.has(name)
        ? "WanGP's name for one of the task fields above; accepted instead of it."
        : "WanGP setting, passed through to WanGP unchanged (see WanGP's docs).",
    };
  }
  const { $schema: _drop, ...taskWithoutMeta } = task;
  const { $schema: _dropToo, ...stitch } = z.toJSONSchema(StitchTaskFieldsSchema, {
    io: "input",
    unrepresentable: "any",
  }) as JsonSchemaObject;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://wgp-farm.dev/schemas/tasks.json",
    title: "wgp-farm task list",
    description:
      "A list of WanGP video generation tasks and stitch tasks for `wgp-farm import-tasks` (or one task per line, JSON Lines).",
    type: "array",
    items: {
      anyOf: [
        {
          ...taskWithoutMeta,
          title: "task",
          properties,
          required: ["task_id", "prompt"],
          additionalProperties: false,
        },
        { ...stitch, title: "stitch task", required: ["task_id", "stitch"] },
      ],
    },
  };
}
