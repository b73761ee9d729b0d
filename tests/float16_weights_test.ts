/**
 * Float16 weight decode at load (`models/_tfjs_manifest.ts`): every float weight of MoveNet
 * Lightning and Thunder (stored as float16) decoded by our loader equals tfjs-core's
 * `tf.io.decodeWeights` bit for bit, and so does every float16 bit pattern that is finite.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  assembleGroups,
  halfToFloatTable,
  readManifest,
  WeightStore,
} from "../models/_tfjs_manifest.ts";
import { decodeTfjsWeights, readTfjsGraphArtifacts } from "../reference/tfjs_artifacts.ts";
import { moveNetWeights } from "./support/movenet_weights.ts";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";

tf.env().set("IS_NODE", false);

for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
  Deno.test(`\`WeightStore.floats()\` decodes ${model}'s float16 weights as tf.io.decodeWeights does`, async () => {
    const path = await moveNetWeights(model);
    const doc = JSON.parse(await Deno.readTextFile(path));
    const manifest = readManifest(doc);
    const store = new WeightStore(
      manifest,
      assembleGroups(manifest, [await Deno.readFile(join(dirname(path), `${model}.bin`))]),
    );
    const reference = await decodeTfjsWeights(await readTfjsGraphArtifacts(path));
    let halves = 0;
    for (const [name, weight] of manifest.byName) {
      const expected = reference.get(name);
      assert.ok(expected, `tf.io.decodeWeights has no ${name}`);
      if (weight.dtype === "int32") {
        assert.deepEqual(store.ints(weight, "a test"), expected.values);
        continue;
      }
      if (weight.quantization?.kind === "float16") halves++;
      const ours = store.floats(weight, "a test");
      const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
      assert.deepEqual(bits(ours), bits(expected.values as Float32Array), name);
    }
    assert.ok(halves > 100, `only ${halves} float16 weights`);
  });
}

Deno.test("`halfToFloatTable()` maps every float16 bit pattern as tfjs-core does", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const [decoded] = Object.values(tf.io.decodeWeights(all.buffer, [{
    name: "all",
    shape: [65536],
    dtype: "float32",
    quantization: { dtype: "float16" },
  }]));
  const expected = decoded.dataSync() as Float32Array;
  const ours = halfToFloatTable();
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(expected[h])) assert.ok(Number.isNaN(ours[h]), `0x${h.toString(16)}`);
    else {assert.equal(
        Object.is(ours[h], expected[h]),
        true,
        `0x${h.toString(16)}: ${ours[h]} vs ${expected[h]}`,
      );}
  }
});
