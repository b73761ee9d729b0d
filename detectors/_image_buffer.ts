/**
 * The sizing policy of a frame slot's image buffer: the one GPU buffer of a model whose size
 * depends on the frames, not on the model.
 *
 * A slot keeps its image buffer between frames and grows it (never shrinks it) when a frame does
 * not fit, to the next power of two of the frame's bytes (at least 64 KiB, at most the device's
 * `maxStorageBufferBindingSize`). So a stream whose frames grow steadily reallocates only
 * log2(largest / first) times instead of at every frame, and a model holds at most
 * `maxFramesInFlight × 2 × (largest frame's bytes)` (or 64 KiB per slot) for images, whatever the
 * stream.
 *
 * @module
 */

/** Smallest image buffer made. */
export const MIN_IMAGE_BUFFER_BYTES = 64 * 1024;

/**
 * The size of the image buffer to make for a frame of `needed` bytes.
 *
 * @param needed The frame's bytes (a multiple of 4).
 * @param maxBytes The device's largest storage binding.
 * @returns The next power of two ≥ `needed` (≥ 64 KiB), capped at `maxBytes` but never below
 *   `needed`.
 */
export function imageBufferBytes(needed: number, maxBytes: number): number {
  let size = MIN_IMAGE_BUFFER_BYTES;
  while (size < needed) size *= 2;
  const cap = Math.floor(maxBytes / 4) * 4;
  return Math.max(needed, Math.min(size, cap));
}
