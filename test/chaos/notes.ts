/** What the report says beside the figures: choices made, and what the suite found. */
export const NOTES: string[] = ["Placeholder: filled in after the full run."];
