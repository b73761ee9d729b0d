import assert from "node:assert/strict";
import { channelSlots, packChannels, packedByteLength, unpackChannels } from "../runtime/layout.ts";
import { samePadding } from "../kernels/same_padding.ts";
import { InvalidInputError } from "../errors.ts";

Deno.test("samePadding() matches TensorFlow's SAME padding on hand-worked cases", () => {
  // in, k, s, d → out, before, after (worked out from TF's definition by hand)
  const cases: [number, number, number, number, number, number, number][] = [
    [257, 3, 2, 1, 129, 1, 1],
    [256, 3, 2, 1, 128, 0, 1],
    [2, 3, 2, 1, 1, 0, 1],
    [1, 3, 2, 1, 1, 1, 1],
    [33, 3, 1, 2, 33, 2, 2],
    [33, 3, 1, 4, 33, 4, 4],
    [7, 3, 2, 4, 4, 4, 4],
    [17, 1, 1, 1, 17, 0, 0],
  ];
  for (const [inSize, k, s, d, out, before, after] of cases) {
    assert.deepEqual(
      samePadding(inSize, k, s, d),
      { outSize: out, before, after },
      `${inSize},${k},${s},${d}`,
    );
  }
});

Deno.test("packChannels() and unpackChannels() round-trip with zero padding", () => {
  const data = Float32Array.from({ length: 2 * 5 }, (_, i) => i + 1);
  const packed = packChannels(data, 2, 5);
  assert.equal(channelSlots(5), 2);
  assert.equal(packedByteLength(1, 2, 5), 2 * 2 * 16);
  assert.deepEqual([...packed], [1, 2, 3, 4, 5, 0, 0, 0, 6, 7, 8, 9, 10, 0, 0, 0]);
  assert.deepEqual([...unpackChannels(packed, 2, 5)], [...data]);
});

Deno.test("packChannels() rejects data whose length does not match", () => {
  assert.throws(
    () => packChannels(new Float32Array(7), 2, 4),
    (e: unknown) =>
      e instanceof InvalidInputError &&
      /7 values, expected 2 pixels × 4 channels = 8/.test(e.message),
  );
});
