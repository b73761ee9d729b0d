/** Tests for `cli/draw_overlay.ts`: the pose overlay rasteriser. */

import assert from "node:assert/strict";
import {
  DEFAULT_MIN_SCORE,
  defaultLineWidth,
  drawPoses,
  OUTLINE_COLOR,
  POSE_COLORS,
} from "../cli/draw_overlay.ts";
import { PART_NAMES, type Pose } from "../decode/keypoints.ts";
import { InvalidInputError } from "../errors.ts";

const GREY = [128, 128, 128, 255] as const;

function greyImage(width: number, height: number) {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(GREY, i);
  return { data, width, height };
}

/**
 * A pose with every keypoint at (-1000, -1000) (off the image) and score 0, except the given
 * parts.
 */
function pose(parts: Record<string, { x: number; y: number; score?: number }>): Pose {
  return {
    score: 0.8,
    keypoints: PART_NAMES.map((part) => {
      const p = parts[part];
      return p
        ? { part, score: p.score ?? 0.9, position: { x: p.x, y: p.y } }
        : { part, score: 0, position: { x: -1000, y: -1000 } };
    }),
  };
}

function pixel(img: { data: Uint8Array; width: number }, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(i, i + 4));
}

function rgba(c: readonly number[]): number[] {
  return [c[0], c[1], c[2], 255];
}

/** Number of pixels that differ between two RGBA buffers. */
function changedPixels(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2] || a[i + 3] !== b[i + 3]) {
      n++;
    }
  }
  return n;
}

Deno.test("drawPoses: pixels on a bone take the pose colour, far pixels are unchanged", () => {
  const img = greyImage(200, 200);
  // leftShoulder (40, 100) – leftElbow (160, 100): a horizontal bone in SKELETON.
  const p = pose({ leftShoulder: { x: 40, y: 100 }, leftElbow: { x: 160, y: 100 } });
  const out = drawPoses(img, [p]);
  assert.equal(out.length, img.data.length);
  assert.notEqual(out, img.data);
  const red = rgba(POSE_COLORS[0]);
  for (const x of [70, 100, 130]) assert.deepEqual(pixel({ data: out, width: 200 }, x, 100), red);
  // The line is defaultLineWidth(200, 200) = 2 px wide plus a dark border: y = 100 ± 10 is far.
  assert.equal(defaultLineWidth(200, 200), 2);
  for (const [x, y] of [[100, 90], [100, 110], [5, 5], [199, 199], [20, 100], [180, 100]]) {
    assert.deepEqual(pixel({ data: out, width: 200 }, x, y), [...GREY], `pixel (${x}, ${y})`);
  }
  // The input is not modified.
  assert.deepEqual(pixel(img, 100, 100), [...GREY]);
});

Deno.test("drawPoses: keypoints are filled discs with a dark outline", () => {
  const img = greyImage(200, 200);
  const out = drawPoses(img, [pose({ nose: { x: 50, y: 60 } })], { keypointRadius: 6 });
  const view = { data: out, width: 200 };
  assert.deepEqual(pixel(view, 50, 60), rgba(POSE_COLORS[0]));
  assert.deepEqual(pixel(view, 54, 60), rgba(POSE_COLORS[0]));
  assert.deepEqual(pixel(view, 55, 60), rgba(OUTLINE_COLOR)); // on the 1.5 px outline ring
  assert.deepEqual(pixel(view, 50, 55), rgba(OUTLINE_COLOR));
  assert.deepEqual(pixel(view, 50, 70), [...GREY]);
  // Only pixels near the disc change.
  const changed = changedPixels(img.data, out);
  assert.ok(changed > 100 && changed < 200, `changed ${changed} pixels`);
});

Deno.test("drawPoses: keypoints and bones below minScore are not drawn", () => {
  const img = greyImage(100, 100);
  assert.equal(DEFAULT_MIN_SCORE, 0.5);
  const low = pose({
    leftShoulder: { x: 20, y: 50, score: 0.49 },
    leftElbow: { x: 80, y: 50, score: 0.49 },
  });
  assert.equal(changedPixels(img.data, drawPoses(img, [low])), 0);
  // One end above the threshold: its disc is drawn, the bone is not.
  const half = pose({
    leftShoulder: { x: 20, y: 50, score: 0.9 },
    leftElbow: { x: 80, y: 50, score: 0.2 },
  });
  const out = drawPoses(img, [half]);
  assert.deepEqual(pixel({ data: out, width: 100 }, 20, 50), rgba(POSE_COLORS[0]));
  assert.deepEqual(pixel({ data: out, width: 100 }, 50, 50), [...GREY]);
  assert.deepEqual(pixel({ data: out, width: 100 }, 80, 50), [...GREY]);
  // A lower minScore draws the low keypoints and their bone; minScore = score is included.
  const all = drawPoses(img, [low], { minScore: 0.49 });
  assert.deepEqual(pixel({ data: all, width: 100 }, 50, 50), rgba(POSE_COLORS[0]));
});

Deno.test("drawPoses: coordinates off the image or non-finite do not throw and are clipped", () => {
  const img = greyImage(64, 48);
  const wild = pose({
    leftShoulder: { x: -500, y: -300 },
    leftElbow: { x: 1e9, y: 2e9 },
    leftWrist: { x: Number.NaN, y: 10 },
    rightShoulder: { x: Infinity, y: 5 },
    rightElbow: { x: 63.9, y: 47.9 },
    rightWrist: { x: -1e12, y: 24 },
    leftHip: { x: 32, y: -1e15 },
    leftKnee: { x: 32, y: 1e15 },
  });
  const out = drawPoses(img, [wild]);
  assert.equal(out.length, img.data.length);
  // The vertical leftHip–leftKnee bone crosses the whole image at x = 32.
  for (const y of [0, 24, 47]) {
    assert.deepEqual(pixel({ data: out, width: 64 }, 32, y), rgba(POSE_COLORS[0]));
  }
  // A 1x1 image and an empty pose list work too.
  assert.equal(drawPoses(greyImage(1, 1), [wild]).length, 4);
  assert.equal(changedPixels(img.data, drawPoses(img, [])), 0);
});

Deno.test("drawPoses: two poses get different colours", () => {
  const img = greyImage(200, 100);
  const a = pose({ leftHip: { x: 50, y: 10 }, leftKnee: { x: 50, y: 90 } });
  const b = pose({ rightHip: { x: 150, y: 10 }, rightKnee: { x: 150, y: 90 } });
  const out = drawPoses(img, [a, b]);
  const ca = pixel({ data: out, width: 200 }, 50, 50);
  const cb = pixel({ data: out, width: 200 }, 150, 50);
  assert.deepEqual(ca, rgba(POSE_COLORS[0]));
  assert.deepEqual(cb, rgba(POSE_COLORS[1]));
  assert.notDeepEqual(ca, cb);
  // The palette's colours are all distinct and wrap around after eight poses.
  assert.equal(new Set(POSE_COLORS.map((c) => c.join())).size, POSE_COLORS.length);
  const many = drawPoses(img, Array.from({ length: 9 }, (_, i) => i === 8 ? b : a));
  assert.deepEqual(pixel({ data: many, width: 200 }, 150, 50), rgba(POSE_COLORS[0]));
});

Deno.test("drawPoses: line width scales with the image size", () => {
  assert.equal(defaultLineWidth(1920, 1448), 7);
  const img = greyImage(1000, 1000);
  const out = drawPoses(img, [pose({ leftHip: { x: 100, y: 500 }, rightHip: { x: 900, y: 500 } })]);
  const view = { data: out, width: 1000 };
  // 5 px wide at 1000x1000: y = 498..502 are the pose colour, the border beyond is dark.
  for (let y = 498; y <= 502; y++) assert.deepEqual(pixel(view, 500, y), rgba(POSE_COLORS[0]));
  assert.deepEqual(pixel(view, 500, 490), [...GREY]);
});

Deno.test("drawPoses: rejects a wrong-sized buffer and bad options", () => {
  const img = greyImage(10, 10);
  assert.throws(
    () => drawPoses({ data: new Uint8Array(10), width: 10, height: 10 }, []),
    InvalidInputError,
  );
  assert.throws(() => drawPoses({ ...img, width: 0 }, []), InvalidInputError);
  assert.throws(() => drawPoses(img, [], { minScore: 2 }), InvalidInputError);
  assert.throws(() => drawPoses(img, [], { lineWidth: -1 }), InvalidInputError);
});
