/**
 * Image file decoding (JPEG and PNG to RGBA bytes) and PNG encoding for overlays.
 *
 * JPEG goes through `jpeg-js` and PNG through `pngjs`; the format is chosen from the file's magic
 * bytes, never from its name. The TF.js reference script (`tests/fixtures/make_tfjs_reference.ts`)
 * decodes photos with this same module, so the reference and the runtime see identical pixels.
 *
 * Every failure (empty, truncated, unknown or corrupt data, over-large image) is reported as an
 * {@linkcode InvalidInputError} naming the file and the problem; no raw library error escapes.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import jpeg from "jpeg-js";
import { PNG as PNG_UNTYPED } from "pngjs";
import { InvalidInputError } from "../errors.ts";

/** A decoded image: tightly packed RGBA bytes, row-major, top row first. */
export interface DecodedImage {
  /** `width * height * 4` bytes: R, G, B, A per pixel. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Always 4 (RGBA). */
  channels: 4;
}

/** The image formats {@linkcode decodeImage} understands. */
export type ImageFormat = "jpeg" | "png";

/** Largest image file, in megapixels, that {@linkcode decodeImage} decodes (JPEG or PNG). */
export const MAX_IMAGE_FILE_MEGAPIXELS = 64;
/** Memory cap (MiB) handed to the JPEG decoder. */
export const MAX_MEMORY_MB = 1024;

/** The slice of pngjs's API used here (pngjs ships no TypeScript types). */
interface PngLike {
  width: number;
  height: number;
  data: Buffer;
}
interface PngStatic {
  new (options: { width: number; height: number }): PngLike;
  sync: {
    read(buffer: Buffer): PngLike;
    write(png: PngLike): Buffer;
  };
}
const PNG = PNG_UNTYPED as unknown as PngStatic;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Tells the image format from the first bytes of a file.
 *
 * @param bytes The file's contents (only the first 8 bytes are looked at).
 * @returns `"jpeg"`, `"png"`, or `undefined` when the bytes match neither.
 * @example
 * ```ts
 * import { sniffImageFormat } from "./read_image.ts";
 * console.log(sniffImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))); // "jpeg"
 * ```
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  if (bytes.length >= PNG_MAGIC.length && PNG_MAGIC.every((b, i) => bytes[i] === b)) {
    return "png";
  }
  return undefined;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hexPrefix(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function checkDims(width: number, height: number, data: Uint8Array, what: string): void {
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 ||
    data.length !== width * height * 4
  ) {
    throw new InvalidInputError(
      `${what}: decoder returned an inconsistent image (${width}x${height}, ${data.length} bytes)`,
    );
  }
}

function decodeJpeg(bytes: Uint8Array, name: string): DecodedImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_IMAGE_FILE_MEGAPIXELS,
      maxMemoryUsageInMB: MAX_MEMORY_MB,
    });
  } catch (err) {
    throw new InvalidInputError(`${name}: cannot decode JPEG: ${describeError(err)}`, {
      cause: err,
    });
  }
  checkDims(decoded.width, decoded.height, decoded.data, name);
  return { data: decoded.data, width: decoded.width, height: decoded.height, channels: 4 };
}

function decodePng(bytes: Uint8Array, name: string): DecodedImage {
  // The IHDR chunk follows the 8-byte signature: its width and height are big-endian at bytes
  // 16-23. Check them before decoding, so a tiny file claiming a huge image is refused at once
  // instead of after allocating and inflating it.
  if (bytes.length >= 24) {
    const header = new DataView(bytes.buffer, bytes.byteOffset, 24);
    const width = header.getUint32(16);
    const height = header.getUint32(20);
    if (width * height > MAX_IMAGE_FILE_MEGAPIXELS * 1e6) {
      throw new InvalidInputError(
        `${name}: PNG is ${width}x${height}, over the ${MAX_IMAGE_FILE_MEGAPIXELS} MP limit`,
      );
    }
  }
  let png: PngLike;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new InvalidInputError(`${name}: cannot decode PNG: ${describeError(err)}`, {
      cause: err,
    });
  }
  if (png.width * png.height > MAX_IMAGE_FILE_MEGAPIXELS * 1e6) {
    throw new InvalidInputError(
      `${name}: PNG is ${png.width}x${png.height}, over the ${MAX_IMAGE_FILE_MEGAPIXELS} MP limit`,
    );
  }
  // Copy into a plain Uint8Array (not a Buffer view) that owns exactly the pixels.
  const data = new Uint8Array(png.data.byteLength);
  data.set(png.data);
  checkDims(png.width, png.height, data, name);
  return { data, width: png.width, height: png.height, channels: 4 };
}

/**
 * Decodes a JPEG or PNG file's bytes to RGBA. The format is sniffed from the magic bytes.
 *
 * @param bytes The whole file.
 * @param name What to call the input in error messages (a file path, say). Defaults to `"image"`.
 * @returns The decoded image, always 4 channels (RGBA; JPEGs get alpha 255).
 * @throws {InvalidInputError} When the input is empty, truncated, of an unknown format, corrupt,
 *   or larger than {@linkcode MAX_IMAGE_FILE_MEGAPIXELS} megapixels.
 * @example
 * ```ts
 * import { decodeImage } from "./read_image.ts";
 * const img = decodeImage(await Deno.readFile("tests/fixtures/photos/single_portrait.jpg"));
 * console.log(img.width, img.height, img.data.length === img.width * img.height * 4);
 * ```
 */
export function decodeImage(bytes: Uint8Array, name = "image"): DecodedImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidInputError(`${name}: expected a Uint8Array of file bytes`);
  }
  if (bytes.length === 0) {
    throw new InvalidInputError(`${name}: file is empty`);
  }
  const format = sniffImageFormat(bytes);
  if (format === "jpeg") return decodeJpeg(bytes, name);
  if (format === "png") return decodePng(bytes, name);
  throw new InvalidInputError(
    `${name}: unknown image format (first bytes ${hexPrefix(bytes)}); expected JPEG or PNG`,
  );
}

/**
 * Reads a JPEG or PNG file from disk and decodes it to RGBA.
 *
 * @param path Path of the image file.
 * @returns The decoded image, always 4 channels (RGBA).
 * @throws {InvalidInputError} When the file cannot be read or decoded; the message names the path.
 * @example
 * ```ts
 * import { readImageFile } from "./read_image.ts";
 * const { width, height, data } = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
 * console.log(width, height, data.length); // RGBA: width · height · 4 bytes
 * ```
 */
export async function readImageFile(path: string): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new InvalidInputError(`${path}: cannot read image file: ${describeError(err)}`, {
      cause: err,
    });
  }
  return decodeImage(bytes, path);
}

/**
 * Encodes RGBA pixels as a PNG file (8-bit RGBA, no interlace), e.g. for pose overlays.
 *
 * @param rgba `width * height * 4` bytes, row-major, top row first.
 * @param width Width in pixels (positive integer).
 * @param height Height in pixels (positive integer).
 * @returns The PNG file's bytes.
 * @throws {InvalidInputError} When the size is not a positive integer or `rgba` has the wrong
 *   length.
 * @example
 * ```ts
 * import { encodePng } from "./read_image.ts";
 * const red = new Uint8Array([255, 0, 0, 255]);
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await Deno.writeFile(path, encodePng(red, 1, 1));
 * ```
 */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InvalidInputError(`encodePng: bad size ${width}x${height}`);
  }
  if (!(rgba instanceof Uint8Array) || rgba.length !== width * height * 4) {
    throw new InvalidInputError(
      `encodePng: expected ${width * height * 4} RGBA bytes for ${width}x${height}, got ${
        (rgba as Uint8Array | undefined)?.length
      }`,
    );
  }
  try {
    const png = new PNG({ width, height });
    png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
    const out = PNG.sync.write(png);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new InvalidInputError(`encodePng: cannot encode: ${describeError(err)}`, { cause: err });
  }
}
