import assert from "node:assert/strict";
import { decodeImage, encodePng, readImageFile, sniffImageFormat } from "../cli/read_image.ts";
import { InvalidInputError } from "../errors.ts";

const PHOTOS = new URL("./fixtures/photos/", import.meta.url);

/** A 3x2 RGBA test pattern with distinct values in every channel, alpha included. */
function pattern(): { rgba: Uint8Array; width: number; height: number } {
  const width = 3, height = 2;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = 10 + i * 40;
    rgba[i * 4 + 1] = 255 - i * 30;
    rgba[i * 4 + 2] = (i * 77) % 256;
    rgba[i * 4 + 3] = i === 4 ? 0 : 255 - i;
  }
  return { rgba, width, height };
}

Deno.test("`decodeImage()` decodes a PNG to the exact RGBA pixels it was made from", () => {
  const { rgba, width, height } = pattern();
  const png = encodePng(rgba, width, height);
  assert.equal(sniffImageFormat(png), "png");
  const img = decodeImage(png);
  assert.equal(img.width, width);
  assert.equal(img.height, height);
  assert.equal(img.channels, 4);
  assert.ok(img.data instanceof Uint8Array);
  assert.deepEqual(Array.from(img.data), Array.from(rgba));
});

Deno.test("`decodeImage()` decodes a JPEG fixture to RGBA of the right size", async () => {
  const bytes = await Deno.readFile(new URL("single_portrait.jpg", PHOTOS));
  assert.equal(sniffImageFormat(bytes), "jpeg");
  const img = decodeImage(bytes);
  assert.equal(img.width, 700);
  assert.equal(img.height, 700);
  assert.equal(img.channels, 4);
  assert.equal(img.data.length, 700 * 700 * 4);
  for (let i = 3; i < img.data.length; i += 4 * 997) assert.equal(img.data[i], 255);
});

Deno.test("`decodeImage()` decodes an RGB PNG fixture with opaque alpha", async () => {
  const img = await readImageFile(new URL("single_uniform_crop.png", PHOTOS).pathname);
  assert.equal(img.width, 672);
  assert.equal(img.height, 1280);
  assert.equal(img.data.length, 672 * 1280 * 4);
  assert.ok(img.data.every((v, i) => i % 4 !== 3 || v === 255));
});

Deno.test("`decodeImage()` throws InvalidInputError for empty input", () => {
  assert.throws(() => decodeImage(new Uint8Array(0), "empty.jpg"), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /empty\.jpg/);
    assert.match(err.message, /empty/);
    return true;
  });
});

Deno.test("`decodeImage()` throws InvalidInputError for bytes that are no image", () => {
  const garbage = new TextEncoder().encode("definitely not an image file");
  assert.throws(() => decodeImage(garbage), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /unknown image format/);
    return true;
  });
});

Deno.test("`decodeImage()` throws InvalidInputError for a truncated JPEG", async () => {
  const bytes = await Deno.readFile(new URL("single_portrait.jpg", PHOTOS));
  for (const keep of [3, 100, Math.floor(bytes.length / 2), bytes.length - 2]) {
    assert.throws(() => decodeImage(bytes.subarray(0, keep), "cut.jpg"), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, `keep=${keep}: ${err}`);
      assert.match(err.message, /cut\.jpg: cannot decode JPEG/);
      return true;
    });
  }
});

Deno.test("`decodeImage()` throws InvalidInputError for a truncated or corrupt PNG", () => {
  const { rgba, width, height } = pattern();
  const png = encodePng(rgba, width, height);
  for (const keep of [8, 20, png.length - 5]) {
    assert.throws(() => decodeImage(png.subarray(0, keep)), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, `keep=${keep}: ${err}`);
      assert.match(err.message, /cannot decode PNG/);
      return true;
    });
  }
  const corrupt = png.slice();
  corrupt[20] ^= 0xff; // inside IHDR: breaks its CRC
  assert.throws(() => decodeImage(corrupt), InvalidInputError);
});

Deno.test("`decodeImage()` throws InvalidInputError for a JPEG header with garbage after it", () => {
  const bytes = new Uint8Array(64).fill(0x42);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  assert.throws(() => decodeImage(bytes), InvalidInputError);
});

Deno.test("`readImageFile()` throws InvalidInputError naming a missing file", async () => {
  await assert.rejects(readImageFile("/nonexistent/photo.jpg"), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /\/nonexistent\/photo\.jpg/);
    return true;
  });
});

Deno.test("`encodePng()` rejects a buffer of the wrong length", () => {
  assert.throws(() => encodePng(new Uint8Array(5), 1, 1), InvalidInputError);
  assert.throws(() => encodePng(new Uint8Array(4), 0, 1), InvalidInputError);
});
