import { describe, expect, it } from "vitest";
import { parseMediaUrl, redactUrl, resolveMediaPath } from "../src/index.js";

const PIN = "ab".repeat(32);

describe("media URLs", () => {
  it("https:// and s3:// are taken as they are; http:// only when allowed", async () => {
    expect(await resolveMediaPath("https://cdn.example.com/a.mp4", "/base", true)).toEqual({
      value: "https://cdn.example.com/a.mp4",
    });
    expect(await resolveMediaPath("s3://bucket/clips/a.mp4", "/base", true)).toEqual({
      value: "s3://bucket/clips/a.mp4",
    });
    const http = await resolveMediaPath("http://10.0.0.5/a.mp4", "/base", true);
    expect(http.problem).toContain("plain http:// only with --allow-http-media");
    expect(await resolveMediaPath("http://10.0.0.5/a.mp4", "/base", true, { allowHttp: true })).toEqual({
      value: "http://10.0.0.5/a.mp4",
    });
    expect((await resolveMediaPath("ftp://host/a.mp4", "/base", true)).problem).toContain(
      "https:// or s3://",
    );
  });

  it("split off WanGP's virtual-media suffix and a #sha256= pin", () => {
    expect(
      parseMediaUrl(`https://h.example/v.mp4?x=1#sha256=${PIN.toUpperCase()}|start_frame=4,end_frame=9`),
    ).toEqual({
      scheme: "https",
      url: "https://h.example/v.mp4?x=1",
      sha256: PIN,
      suffix: "|start_frame=4,end_frame=9",
    });
    expect(parseMediaUrl("s3://b/k.png")).toEqual({ scheme: "s3", url: "s3://b/k.png", suffix: "" });
  });

  it("refuse credentials in the URL, other fragments, and S3 URLs without a key", () => {
    expect(parseMediaUrl("https://user:secret@h.example/a.mp4")).toEqual({
      problem: expect.stringContaining("carries credentials"),
    });
    expect(JSON.stringify(parseMediaUrl("https://user:secret@h.example/a.mp4"))).not.toContain("secret");
    expect(parseMediaUrl("https://h.example/a.mp4#t=10")).toEqual({
      problem: expect.stringContaining("#sha256=<64 hex digits>"),
    });
    expect(parseMediaUrl("s3://bucket/")).toEqual({ problem: expect.stringContaining("s3://bucket/key") });
  });

  it("are redacted for logs: no password, no query values", () => {
    expect(redactUrl("https://u:p@h.example/a.mp4?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F&v=2")).toBe(
      "https://…@h.example/a.mp4?X-Amz-Signature=…&X-Amz-Credential=…&v=…",
    );
    expect(redactUrl("s3://bucket/key.mp4")).toBe("s3://bucket/key.mp4");
    expect(redactUrl("https://h .example/?sig=secret")).not.toContain("secret");
  });
});
