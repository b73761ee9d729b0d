/**
 * Deterministic "videos" made from the test photos, for the video-frame tests and their reference
 * (`tests/fixtures/make_movenet_video_reference.ts`): each frame is a photo scaled and placed on a
 * grey landscape frame (moving and zooming it moves the person), resampled by nearest neighbour in
 * integer arithmetic, so every run makes the same bytes. A blank frame loses the person. The still
 * sequence is one placement of one photo with a little seeded pixel noise per frame: a person
 * standing still, for the jitter figure.
 *
 * @module
 */

import { readImageFile } from "../../cli/read_image.ts";
import { mulberry32 } from "./random.ts";

/** An RGBA frame. */
export interface VideoFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * How one frame is made: a photo scaled to `scale` of the frame's height and centred at
 * (`cx`, `cy`) (fractions of the frame) on a grey background, or only the background; its time.
 */
export interface FrameSpec {
  readonly timestampMs: number;
  /** The photo (a file in tests/fixtures/photos); absent: a blank grey frame. */
  readonly photo?: string;
  readonly scale?: number;
  readonly cx?: number;
  readonly cy?: number;
  /** Seed of ±`noise` per-channel noise added to the frame (0: none). */
  readonly noiseSeed?: number;
  readonly noise?: number;
}

/** The frame size of every sequence here (a landscape video). */
export const VIDEO_FRAME_SIZE = Object.freeze({ width: 400, height: 300 });

const PHOTOS = new URL("../fixtures/photos/", import.meta.url);

/**
 * The moving sequence: the green-dress photo (a full body) walking right and coming closer for 10
 * frames, a blank frame (the pose is lost: pose-detection resets), then the uniform photo (an
 * upper body) moving left and away for 9 frames; times are irregular, with one repeated
 * (non-increasing) timestamp and one long gap.
 */
export function movingSequence(): FrameSpec[] {
  const times = [
    0,
    33,
    67,
    100,
    140,
    167,
    200,
    233,
    300,
    333,
    367,
    400,
    433,
    466,
    466,
    500,
    533,
    1800,
    1833,
    1866,
  ];
  const frames: FrameSpec[] = [];
  for (let i = 0; i < 10; i++) {
    const photo = "single_green_dress_crop.jpg";
    frames.push({
      timestampMs: times[frames.length],
      photo,
      scale: 0.5 + 0.02 * i,
      cx: 0.35 + 0.03 * i,
      cy: 0.55,
    });
  }
  frames.push({ timestampMs: times[frames.length] });
  for (let i = 0; i < 9; i++) {
    const photo = "single_uniform_crop.png";
    frames.push({
      timestampMs: times[frames.length],
      photo,
      scale: 0.65 - 0.02 * i,
      cx: 0.6 - 0.025 * i,
      cy: 0.5 + 0.01 * i,
    });
  }
  return frames;
}

/**
 * The group sequence, for MultiPose's tracking: the standing group of four panning left and
 * zooming in over 9 frames at 30 frames/s (people leave on the left edge and come in on the right),
 * with a blank frame among them (the people are missed for one frame, within the tracker's
 * `maxAge`) and a repeated timestamp; then a 1.5 s gap (longer than `maxAge`: every track expires)
 * and the couch group of three panning right and zooming out over 8 frames.
 */
export function groupSequence(): FrameSpec[] {
  const frames: FrameSpec[] = [];
  const standing = [0, 33, 67, 100, 133, 167, 200, 200, 233, 267];
  for (const [i, timestampMs] of standing.entries()) {
    if (i === 4) {
      frames.push({ timestampMs });
      continue;
    }
    frames.push({
      timestampMs,
      photo: "group4_standing.jpg",
      scale: 1.1 + 0.03 * i,
      cx: 0.62 - 0.04 * i,
      cy: 0.5,
    });
  }
  for (let i = 0; i < 8; i++) {
    frames.push({
      timestampMs: 1767 + Math.round((i * 1000) / 30),
      photo: "group3_couch.jpg",
      scale: 1.35 - 0.04 * i,
      cx: 0.3 + 0.05 * i,
      cy: 0.52,
    });
  }
  return frames;
}

/** The still sequence: 16 frames of the green-dress photo at 30 frames/s, each with ±3 noise. */
export function stillSequence(): FrameSpec[] {
  return Array.from({ length: 16 }, (_, i) => ({
    timestampMs: 1000 + (i * 1000) / 30,
    photo: "single_green_dress_crop.jpg",
    scale: 0.6,
    cx: 0.5,
    cy: 0.5,
    noiseSeed: 1000 + i,
    noise: 3,
  }));
}

/**
 * Makes the frames of a sequence.
 *
 * @param specs The frames.
 * @returns RGBA frames of {@linkcode VIDEO_FRAME_SIZE}.
 */
export async function renderFrames(specs: readonly FrameSpec[]): Promise<VideoFrame[]> {
  const photos = new Map<string, { data: Uint8Array; width: number; height: number }>();
  const { width, height } = VIDEO_FRAME_SIZE;
  const out: VideoFrame[] = [];
  for (const spec of specs) {
    const data = new Uint8Array(width * height * 4).fill(128);
    if (spec.photo) {
      let photo = photos.get(spec.photo);
      if (!photo) {
        photo = await readImageFile(new URL(spec.photo, PHOTOS).pathname);
        photos.set(spec.photo, photo);
      }
      const ph = Math.round(spec.scale! * height);
      const pw = Math.round((ph * photo.width) / photo.height);
      const left = Math.round(spec.cx! * width - pw / 2);
      const top = Math.round(spec.cy! * height - ph / 2);
      for (let y = Math.max(0, top); y < Math.min(height, top + ph); y++) {
        const sy = Math.floor(((y - top) * photo.height) / ph);
        for (let x = Math.max(0, left); x < Math.min(width, left + pw); x++) {
          const sx = Math.floor(((x - left) * photo.width) / pw);
          const [o, i] = [(y * width + x) * 4, (sy * photo.width + sx) * 4];
          data[o] = photo.data[i];
          data[o + 1] = photo.data[i + 1];
          data[o + 2] = photo.data[i + 2];
        }
      }
    }
    for (let i = 3; i < data.length; i += 4) data[i] = 255;
    if (spec.noise) {
      const rng = mulberry32(spec.noiseSeed ?? 0);
      for (let i = 0; i < data.length; i++) {
        if (i % 4 === 3) continue;
        const v = data[i] + Math.round((2 * rng() - 1) * spec.noise);
        data[i] = Math.max(0, Math.min(255, v));
      }
    }
    out.push({ data, width, height });
  }
  return out;
}
