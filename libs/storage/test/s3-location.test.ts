import { ConfigError } from "@wgp-farm/config";
import { describe, expect, it } from "vitest";
import { keyUnder, parseS3Url, s3UrlOf } from "../src/index.js";

describe("parseS3Url", () => {
  it("reads the bucket and a prefix without its slashes", () => {
    expect(parseS3Url("s3://farm-results/studio/2026/")).toEqual({
      bucket: "farm-results",
      prefix: "studio/2026",
    });
    expect(parseS3Url("s3://farm-results")).toEqual({ bucket: "farm-results", prefix: "" });
  });

  it("names the setting when the URL is not one", () => {
    expect(() => parseS3Url("/mnt/out", "--output-store")).toThrow(ConfigError);
    expect(() => parseS3Url("s3://Bad_Bucket/x", "--output-store")).toThrow(/--output-store: 'Bad_Bucket'/);
    expect(() => parseS3Url("s3://bucket/a/../b", "--output-store")).toThrow(/\.\./);
  });

  it("joins keys under the prefix", () => {
    const location = parseS3Url("s3://bk1/p/q");
    expect(keyUnder(location, "task/a", "result.json")).toBe("p/q/task/a/result.json");
    expect(keyUnder(parseS3Url("s3://bk1"), "x.mp4")).toBe("x.mp4");
    expect(s3UrlOf(location, "p/q/x")).toBe("s3://bk1/p/q/x");
  });
});
