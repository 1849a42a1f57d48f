// Characters that never belong in ids, paths or names: C0/C1 controls and DEL (NUL included).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL_CHARACTERS.test(value);
}

// Prompts are free text over several lines: tab, line feed and carriage return are fine there.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS_BUT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function hasControlCharactersBesidesLineBreaks(value: string): boolean {
  return CONTROL_CHARACTERS_BUT_LINE_BREAKS.test(value);
}
