import { execa } from "execa";

/** A video's (or picture's) first stream as ffprobe reads it: its size and its frames, counted by decoding. */
export interface VideoProbe {
  width: number;
  height: number;
  frames: number;
}

export async function probeVideo(file: string): Promise<VideoProbe> {
  const { stdout } = await execa("ffprobe", [
    ...["-v", "error", "-select_streams", "v:0", "-count_frames"],
    ...["-show_entries", "stream=width,height,nb_read_frames", "-of", "json", file],
  ]);
  const stream = (JSON.parse(stdout) as { streams: Record<string, unknown>[] }).streams[0] ?? {};
  return {
    width: Number(stream.width),
    height: Number(stream.height),
    frames: Number(stream.nb_read_frames),
  };
}
