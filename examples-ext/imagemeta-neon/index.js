// Runs in every worker after the addon's exports are bound as t.imagemeta, with `t` in scope (a
// plain script): a friendlier API on top of the natives.

const MIME_TYPES = {
  png: "image/png", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", bmp: "image/bmp", ico: "image/x-icon",
  tiff: "image/tiff", avif: "image/avif", heic: "image/heic", heif: "image/heif", jxl: "image/jxl", qoi: "image/qoi",
};

// The MIME type to serve an uploaded image with, or null when the bytes are not a known image
// (trust the bytes, not the file name or the client's content-type).
t.imagemeta.mimeType = (bytes) => {
  try {
    return MIME_TYPES[t.imagemeta.probe(bytes).format] ?? null;
  } catch {
    return null;
  }
};
