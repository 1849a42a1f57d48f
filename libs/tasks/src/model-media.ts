import { WANGP_CATALOG } from "./wangp-catalog.js";

export type ModelMediaType = "video" | "image" | "audio";

/**
 * What a WanGP model family makes, by the catalog's architecture name. The catalog does not record
 * it (WanGP's model definitions say it through flags such as `image_outputs` / `audio_only`), so the
 * families that do not make video are named here; every other one, and a model the catalog does not
 * know (a finetune), is taken to make video.
 */
const IMAGE_ARCHITECTURES = /^(flux|qwen_image|z_image|ideogram|krea2|hidream|pi_flux2)/;
const AUDIO_ARCHITECTURES =
  /^(ace_step|chatterbox|index_tts|qwen3_tts|stable_audio|kugelaudio|omnivoice|minimax_music|heartmula|dramabox_audio|scenema_audio)/;

export function mediaTypeOfModel(modelType: string): ModelMediaType {
  const architecture = WANGP_CATALOG.models[modelType]?.architecture ?? modelType;
  if (AUDIO_ARCHITECTURES.test(architecture)) return "audio";
  if (IMAGE_ARCHITECTURES.test(architecture)) return "image";
  return "video";
}
