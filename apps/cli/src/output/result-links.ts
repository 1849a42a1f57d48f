import type { OptionValues } from "@wgp-farm/config";
import {
  BucketResults,
  LINK_TTL_OPTION,
  OUTPUT_STORE_OPTION,
  type ResultLink,
  S3_ACCESS_OPTION_SET,
} from "@wgp-farm/storage";

/** The options of a command that shows links to results kept in a bucket. */
export const RESULT_LINK_OPTIONS = {
  outputStore: OUTPUT_STORE_OPTION,
  ...S3_ACCESS_OPTION_SET,
  s3LinkTtlMs: LINK_TTL_OPTION,
};

/** Presigned links to a task's stored result; none for a folder result (or without one). */
export async function resultLinksOf(
  result: unknown,
  settings: OptionValues<typeof RESULT_LINK_OPTIONS>,
): Promise<ResultLink[]> {
  const results = new BucketResults(settings, { within: settings.outputStore });
  try {
    return await results.linksOfResult(result, settings.s3LinkTtlMs);
  } finally {
    results.close();
  }
}

export function formatResultLinks(links: readonly ResultLink[], ttlMs: number): string {
  if (links.length === 0) return "";
  const width = Math.max(...links.map((link) => link.name.length));
  const lines = links.map((link) => `  ${link.name.padEnd(width)}  ${link.url}`);
  return `\nLinks (valid ${Math.round(ttlMs / 60_000)} min):\n${lines.join("\n")}`;
}
