/**
 * Content types an input may be uploaded as, and the extension it is stored with: WanGP tells
 * images, videos and audio apart by the file's extension.
 */
export const INPUT_MEDIA_TYPES: Readonly<Record<string, string>> = {
  "image/png": ".png",
  "image/jpeg": ".jpg",
  "image/webp": ".webp",
  "image/gif": ".gif",
  "image/bmp": ".bmp",
  "video/mp4": ".mp4",
  "video/webm": ".webm",
  "video/quicktime": ".mov",
  "video/x-matroska": ".mkv",
  "audio/wav": ".wav",
  "audio/x-wav": ".wav",
  "audio/mpeg": ".mp3",
  "audio/flac": ".flac",
  "audio/ogg": ".ogg",
};

export const INPUT_EXTENSIONS: readonly string[] = [...new Set(Object.values(INPUT_MEDIA_TYPES))];
