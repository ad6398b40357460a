// The addon's exports, declared by hand: neon generates no TypeScript. `titan build ext` turns
// this file into index.d.ts (t.imagemeta typed by it); keep it in step with src/lib.rs.

/** An image's format and size in pixels. */
export interface ImageInfo {
  /** png, jpeg, gif, webp, bmp, ico, tiff, avif, heic, heif, jxl or qoi. */
  format: string;
  width: number;
  height: number;
}

/**
 * The format and size of an image, from its bytes (the first few KiB are enough).
 * @throws {Error} when the bytes are not an image in a known format (`imagemeta.probe: ...`).
 */
export declare function probe(bytes: Uint8Array): ImageInfo;

/**
 * The format and size of the image in a file, reading only its header.
 * @throws {Error} when the file cannot be read or is not an image (`imagemeta.probeFile: ...`).
 */
export declare function probeFile(path: string): ImageInfo;
