import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EngineJobError, type ProgressMessage } from "../src/index.js";
import { jobRequest, startedEngine, supervisor, t2v, tempDir } from "./support.js";

/** Late post-processing (`postprocess`) through the real engine-py on the WanGP test double. */
describe("EngineProcess.postprocess", () => {
  it("runs WanGP's media post-processing on a generated file, with progress, as one more job", async () => {
    const engine = await startedEngine();
    const generated = await engine.generate(await jobRequest(t2v()));
    const progress: ProgressMessage[] = [];
    const outputDir = path.join(await tempDir(), "up");
    const result = await engine.postprocess(
      {
        id: "up",
        call: "media_postprocessing",
        source: generated.main_file,
        outputDir,
        params: { spatial_upsampling: "lanczos2", film_grain_intensity: 0.2 },
      },
      { onProgress: (message) => progress.push(message) },
    );
    expect(result.model_type).toBe("edit_postprocessing");
    expect(result.main_file).toBe(path.join(outputDir, "output_post.mp4"));
    const asked = JSON.parse((await readFile(result.main_file, "utf8")).split("\n")[1] ?? "{}");
    expect(asked).toMatchObject({ spatial_upsampling: "lanczos2", film_grain_intensity: 0.2 });
    expect(progress.map((message) => message.phase)).toContain("post_processing");
    expect(engine.state).toBe("ready");
  });

  it("rejects a value WanGP does not accept as invalid, and a malformed request before sending it", async () => {
    const sup = await supervisor();
    await sup.start();
    const generated = await sup.generate(await jobRequest(t2v()));
    const outputDir = path.join(await tempDir(), "bad");
    const refused = await sup
      .postprocess({
        id: "bad",
        call: "media_postprocessing",
        source: generated.main_file,
        outputDir,
        params: { temporal_upsampling: "rife3" },
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EngineJobError);
    expect((refused as EngineJobError).kind).toBe("invalid");
    expect((refused as EngineJobError).message).toContain("temporal_upsampling must be one of rife2, rife4");
    const malformed = await sup
      .postprocess({
        id: "rel",
        call: "audio_remux",
        source: "take.mp4",
        outputDir,
        params: { postprocess_audio: "mmaudio" },
      })
      .catch((error: unknown) => error);
    expect((malformed as EngineJobError).kind).toBe("invalid");
    expect((malformed as EngineJobError).message).toContain("bad postprocess request");
  });
});
