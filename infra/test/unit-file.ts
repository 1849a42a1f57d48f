/** A systemd unit file as section → key → values (a key may repeat, e.g. Environment=). */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = new Map();
      unit.set(header[1], section);
      continue;
    }
    const equals = line.indexOf("=");
    if (!section || equals < 0) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, equals);
    section.set(key, [...(section.get(key) ?? []), line.slice(equals + 1)]);
  }
  return unit;
}

export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** systemd time spans as written here: `20min`, `6h`, `30s`, `15m` (the env file's drain timeout). */
export function timeSpanSeconds(value: string): number {
  const match = /^(\d+)\s*(ms|s|sec|m|min|h)?$/.exec(value.trim());
  if (!match?.[1]) throw new Error(`not a time span: ${value}`);
  const factor: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  return Number(match[1]) * (factor[match[2] ?? "s"] ?? 1);
}

/** KEY=value lines of an environment file, comments skipped. */
export function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1]) values.set(match[1], match[2] ?? "");
  }
  return values;
}
