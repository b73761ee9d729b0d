/**
 * Seeded random data for tests: every run draws a fresh seed (or takes `POSENET_TEST_SEED`) and
 * prints it, so any failure can be replayed exactly.
 *
 * @module
 */

/** A seeded generator of uniform floats in [0, 1) (mulberry32). */
export type Rng = () => number;

/**
 * Makes a mulberry32 generator.
 *
 * @param seed 32-bit seed.
 * @returns The generator.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of this test run: `POSENET_TEST_SEED` when set, else a fresh one. Printed once per
 * suite with the way to replay it.
 *
 * @param suite Name shown in the printed line.
 * @returns The seed.
 */
export function runSeed(suite: string): number {
  const fromEnv = Deno.env.get("POSENET_TEST_SEED");
  const seed = fromEnv !== undefined ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`${suite}: seed ${seed} (replay with POSENET_TEST_SEED=${seed})`);
  return seed;
}

/**
 * One uniform draw in [lo, hi).
 *
 * @param rng Generator.
 * @param lo Lower bound.
 * @param hi Upper bound.
 * @returns The value.
 */
export function between(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/**
 * Fills a new array with uniform values in [lo, hi).
 *
 * @param rng Generator.
 * @param length Number of values.
 * @param lo Lower bound (default -1).
 * @param hi Upper bound (default 1).
 * @returns The values.
 */
export function uniform(rng: Rng, length: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + (hi - lo) * rng();
  return out;
}
