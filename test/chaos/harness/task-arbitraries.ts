/**
 * fast-check generators of task lists mixing valid tasks with bad ones, each bad one labelled with the
 * field the importer must name (`""` for a task that is not a JSON object at all).
 */
import { hasControlCharactersBesidesLineBreaks } from "@wgp-farm/tasks";
import fc from "fast-check";

export interface GeneratedEntry {
  /** The task's JSON text (possibly not JSON at all). */
  text: string;
  /** A valid task (its id, to be imported), or the field the importer must report. */
  expect: { kind: "valid"; taskId: string } | { kind: "invalid"; path: string; what: string };
}

export interface GeneratedList {
  entries: GeneratedEntry[];
  format: "array" | "lines";
}

/** Text without control characters, not blank: what a prompt or a name may be. */
const printable = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 40 })
  .filter((s) => s.trim().length > 0 && s.trim() === s && !/[\p{Cc}\p{Cs}]/u.test(s));

/** A folder name segment the importer accepts: no control characters, no `/` or `\`, not `.` or `..`. */
const segment = printable
  .map((s) => s.replace(/[/\\]/g, "_"))
  .filter((s) => s !== "." && s !== ".." && !s.startsWith(".wgp-farm") && s.length <= 60);

const wrongTypes: Record<string, fc.Arbitrary<unknown>> = {
  task_id: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })),
  prompt: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.constant({})),
  frames: fc.oneof(fc.string(), fc.constant(null), fc.double({ min: 1.1, max: 99.9, noInteger: true })),
  seed: fc.oneof(fc.string(), fc.constant(true), fc.double({ min: 0.1, max: 9.9, noInteger: true })),
  steps: fc.oneof(fc.string(), fc.constant(false), fc.constant([])),
  priority: fc.oneof(fc.string(), fc.constant(0), fc.integer({ min: 2_097_152 })),
  guidance_scale: fc.oneof(fc.string(), fc.constant(null), fc.constant(-1)),
  resolution: fc.oneof(fc.integer(), fc.constant("big"), fc.constant("4x4"), fc.constant("99999x99999")),
  use_causvid_lora: fc.oneof(fc.string(), fc.integer()),
  model: fc.oneof(fc.integer(), fc.constant(""), fc.constant("t2v/../../x"), fc.constant("a b")),
  output_sub_dir: fc.oneof(fc.integer(), fc.constant(true), fc.constant({ dir: "x" })),
  activated_loras: fc.oneof(fc.integer(), fc.constant({}), fc.constant([""])),
  image_start_paths: fc.oneof(fc.integer(), fc.constant([3]), fc.constant({})),
};

/** The control characters a prompt may hold: it is free text over several lines. */
const PROMPT_WHITESPACE = "\t\n\r";

type Builder = (id: string, base: Record<string, unknown>) => GeneratedEntry;

function json(value: unknown): string {
  return JSON.stringify(value);
}

function invalid(text: string, path: string, what: string): GeneratedEntry {
  return { text, expect: { kind: "invalid", path, what } };
}

/** Each kind of bad task, as an arbitrary of builders. */
function badBuilders(mediaDir: string): fc.Arbitrary<Builder> {
  const wrongType = fc
    .constantFrom(...Object.keys(wrongTypes))
    .chain((field) => (wrongTypes[field] as fc.Arbitrary<unknown>).map((value) => ({ field, value })))
    .map(
      ({ field, value }): Builder =>
        (id, base) =>
          invalid(json({ ...base, task_id: id, [field]: value }), field, `wrong type for ${field}`),
    );
  const malformed = fc
    .constantFrom(
      (id: string) => `{"task_id": "${id}", prompt: "unquoted key"}`,
      (id: string) => `{"task_id": "${id}", "prompt": "trailing comma",}`,
      (id: string) => `{'task_id': '${id}', 'prompt': 'single quotes'}`,
      (id: string) => `{"task_id": "${id}", "prompt": }`,
      (id: string) => `{"task_id": "${id}" "prompt": "no comma"}`,
      (id: string) => `{"task_id": "${id}", "prompt": "x", "frames": NaN}`,
      (id: string) => `{"task_id": "${id}", "prompt": "x", "seed": 0x10}`,
    )
    .map(
      (template): Builder =>
        (id) =>
          invalid(template(id), "", "malformed JSON"),
    );
  const notAnObject = fc
    .oneof(fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.constant("a string"))
    .map(
      (value): Builder =>
        () =>
          invalid(json(value), "", "not an object"),
    );
  const hugeString = fc.integer({ min: 20_001, max: 200_000 }).map(
    (length): Builder =>
      (id, base) =>
        invalid(
          json({ ...base, task_id: id, prompt: "x".repeat(length) }),
          "prompt",
          `prompt of ${length} chars`,
        ),
  );
  const overSized = fc.constant((id: string, base: Record<string, unknown>) =>
    invalid(json({ ...base, task_id: id, negative_prompt: "y".repeat(1_100_000) }), "", "task over 1 MiB"),
  );
  const deepNesting = fc.integer({ min: 65, max: 3_000 }).map(
    (depth): Builder =>
      (id, base) =>
        invalid(
          `{"task_id":"${id}","prompt":${json(base.prompt)},"sliding_window_size":${"[".repeat(depth)}${"]".repeat(depth)}}`,
          "",
          `nesting ${depth} deep`,
        ),
  );
  const controlChar = fc
    .record({
      field: fc.constantFrom("task_id", "output_sub_dir", "video_guide_path", "prompt", "negative_prompt"),
      char: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)),
    })
    // Prompts are free text: line breaks and tabs are allowed there, every other control character is not.
    .filter(({ field, char }) => !(field.endsWith("prompt") && PROMPT_WHITESPACE.includes(char)))
    .map(
      ({ field, char }): Builder =>
        (id, base) => {
          const value = field === "task_id" ? `${id}${char}x` : `a${char}b`;
          return invalid(
            json({ ...base, task_id: id, [field]: value }),
            field,
            `control character in ${field}`,
          );
        },
    );
  const badId = fc
    .oneof(
      fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `${a}:${b}`),
      fc.bigInt({ min: 0n, max: 10n ** 30n }).map((n) => n.toString()),
      fc.integer({ min: 129, max: 400 }).map((n) => "i".repeat(n)),
      fc.constantFrom(" lead", "trail ", ""),
    )
    .map(
      (badTaskId): Builder =>
        (_id, base) =>
          invalid(
            json({ ...base, task_id: badTaskId }),
            "task_id",
            `task_id ${json(badTaskId).slice(0, 40)}`,
          ),
    );
  const escapingDir = fc
    .oneof(
      fc.constantFrom(
        "..",
        "../x",
        "a/../../b",
        "a/..",
        "/etc",
        "/tmp/x",
        "C:/x",
        "a\\b",
        ".wgp-farm-staging/x",
        ".",
        "./",
      ),
      segment.map((s) => `../${s}`),
      segment.map((s) => `/${s}`),
    )
    .map(
      (dir): Builder =>
        (id, base) =>
          invalid(
            json({ ...base, task_id: id, output_sub_dir: dir }),
            "output_sub_dir",
            `output_sub_dir ${dir}`,
          ),
    );
  const missingMedia = fc
    .record({
      field: fc.constantFrom(
        "video_guide_path",
        "video_mask_path",
        "audio_guide_path",
        "image_start_paths",
        "image_refs_paths",
      ),
      file: fc.oneof(
        segment.map((s) => `${mediaDir}/missing-${s}.mp4`),
        fc.constantFrom(
          "no-such-file.png",
          "ftp://example.com/a.mp4",
          "http://example.com/a.mp4",
          `${mediaDir}`,
          "/dev/null/x",
        ),
      ),
    })
    .map(
      ({ field, file }): Builder =>
        (id, base) =>
          invalid(json({ ...base, task_id: id, [field]: file }), field, `missing media in ${field}`),
    );
  const enormousFrames = fc.oneof(fc.integer({ min: 10_001 }), fc.constantFrom(1e308, -1, 0, 2 ** 53)).map(
    (frames): Builder =>
      (id, base) =>
        invalid(json({ ...base, task_id: id, frames }), "frames", `frames ${frames}`),
  );
  const missingField = fc.constantFrom("task_id", "prompt").map(
    (field): Builder =>
      (id, base) => {
        const task: Record<string, unknown> = { ...base, task_id: id };
        delete task[field];
        return invalid(json(task), field, `no ${field}`);
      },
  );
  return fc.oneof(
    { arbitrary: wrongType, weight: 4 },
    { arbitrary: malformed, weight: 2 },
    { arbitrary: notAnObject, weight: 1 },
    { arbitrary: hugeString, weight: 1 },
    { arbitrary: overSized, weight: 1 },
    { arbitrary: deepNesting, weight: 1 },
    { arbitrary: controlChar, weight: 2 },
    { arbitrary: badId, weight: 2 },
    { arbitrary: escapingDir, weight: 3 },
    { arbitrary: missingMedia, weight: 2 },
    { arbitrary: enormousFrames, weight: 2 },
    { arbitrary: missingField, weight: 1 },
  );
}

/** A valid task's fields besides its id: unicode prompts, optional settings in range. */
const validBase = fc.record(
  {
    prompt: fc.oneof(
      printable,
      fc
        .string({ unit: "binary", minLength: 1, maxLength: 200 })
        .filter((s) => s.trim().length > 0 && !hasControlCharactersBesidesLineBreaks(s)),
      fc.constantFrom(
        "line one\nline two\twith a tab",
        "windows line\r\nbreaks",
        "emoji 🎬🌊 and RTL שלום",
        "C1 range \u0085 next-line and \u00a0 no-break space",
      ),
    ),
    model: fc.constantFrom("t2v", "t2v_1.3B", "vace_1.3B"),
    frames: fc.integer({ min: 1, max: 10_000 }),
    seed: fc.integer({ min: -1, max: 2 ** 32 - 1 }),
    steps: fc.integer({ min: 1, max: 50 }),
    priority: fc.integer({ min: 1, max: 2_097_151 }),
    resolution: fc.constantFrom("832x480", "960x544", "16x16"),
    guidance_scale: fc.double({ min: 0, max: 100, noNaN: true }),
  },
  { requiredKeys: ["prompt"] },
);

/**
 * A task list of 1–12 entries: valid tasks (ids unique to `runTag`), bad ones of every kind, and
 * duplicates of an earlier valid task's id or output folder.
 */
export function taskListArbitrary(runTag: () => string, mediaDir: string): fc.Arbitrary<GeneratedList> {
  const item = fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant("valid" as const),
        base: validBase,
        dir: fc.option(fc.array(segment, { minLength: 1, maxLength: 3 })),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant("bad" as const),
        base: validBase,
        build: badBuilders(mediaDir),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ kind: fc.constant("duplicate-id" as const), base: validBase }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant("duplicate-dir" as const), base: validBase }), weight: 1 },
  );
  return fc
    .record({
      items: fc.array(item, { minLength: 1, maxLength: 12 }),
      format: fc.constantFrom("array", "lines"),
    })
    .map(({ items, format }) => {
      const tag = runTag();
      const entries: GeneratedEntry[] = [];
      const validIds: string[] = [];
      const validDirs: string[] = [];
      items.forEach((entry, i) => {
        const id = `${tag}-${i}`;
        if (entry.kind === "valid") {
          const dir = entry.dir ? `${tag}/${entry.dir.join("/")}/${i}` : undefined;
          validIds.push(id);
          validDirs.push(dir ?? id);
          entries.push({
            text: json({ ...entry.base, task_id: id, ...(dir ? { output_sub_dir: dir } : {}) }),
            expect: { kind: "valid", taskId: id },
          });
        } else if (entry.kind === "bad") {
          entries.push(entry.build(id, entry.base));
        } else if (entry.kind === "duplicate-id" && validIds.length > 0) {
          const taken = validIds[i % validIds.length] as string;
          entries.push(invalid(json({ ...entry.base, task_id: taken }), "task_id", "duplicate task_id"));
        } else if (entry.kind === "duplicate-dir" && validDirs.length > 0) {
          const taken = validDirs[i % validDirs.length] as string;
          entries.push(
            invalid(
              json({ ...entry.base, task_id: id, output_sub_dir: taken }),
              "output_sub_dir",
              "output folder of another task",
            ),
          );
        } else {
          validIds.push(id);
          validDirs.push(id);
          entries.push({ text: json({ ...entry.base, task_id: id }), expect: { kind: "valid", taskId: id } });
        }
      });
      // A JSON Lines file whose first line is an array reads as a JSON array (the format is told by
      // the first character): that case is in the report's notes, not in this property.
      const first = entries[0]?.text.trimStart() ?? "";
      return { entries, format: format === "lines" && first.startsWith("[") ? ("array" as const) : format };
    });
}

export function renderList(list: GeneratedList): string {
  const texts = list.entries.map((entry) => entry.text);
  return list.format === "array" ? `[\n${texts.join(",\n")}\n]\n` : `${texts.join("\n")}\n`;
}
