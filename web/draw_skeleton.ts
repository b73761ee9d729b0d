/// <reference lib="dom" />
/**
 * Draws poses on a 2D canvas for the demo page: each person's bones and keypoints in their own
 * colour (the CLI overlay's palette), keypoints below a score left out.
 *
 * @module
 */

import { SKELETON } from "../decode/keypoints.ts";
import { POSE_COLORS } from "../cli/draw_overlay.ts";
import type { GamePose } from "./pose_game.ts";

/**
 * Draws `poses` onto `context`, scaled by `scale` from image pixels to canvas pixels.
 *
 * @param context The canvas's 2D context (already holding the frame).
 * @param poses The poses, in image pixels.
 * @param options Least keypoint score drawn, scale, line width.
 */
export function drawSkeletons(
  context: CanvasRenderingContext2D,
  poses: readonly GamePose[],
  options: { readonly minScore?: number; readonly scale?: number; readonly lineWidth?: number } =
    {},
): void {
  const minScore = options.minScore ?? 0.3;
  const scale = options.scale ?? 1;
  poses.forEach((pose, p) => {
    const [r, g, b] = POSE_COLORS[p % POSE_COLORS.length];
    const colour = `rgb(${r}, ${g}, ${b})`;
    context.strokeStyle = colour;
    context.fillStyle = colour;
    context.lineWidth = options.lineWidth ?? 4;
    context.lineCap = "round";
    for (const [i, j] of SKELETON) {
      const a = pose.keypoints[i];
      const c = pose.keypoints[j];
      if (!a || !c || a.score < minScore || c.score < minScore) continue;
      context.beginPath();
      context.moveTo(a.x * scale, a.y * scale);
      context.lineTo(c.x * scale, c.y * scale);
      context.stroke();
    }
    for (const k of pose.keypoints) {
      if (k.score < minScore) continue;
      context.beginPath();
      context.arc(k.x * scale, k.y * scale, (options.lineWidth ?? 4) * 1.2, 0, 2 * Math.PI);
      context.fill();
    }
  });
}

/**
 * Draws a target pose (any units) fitted into a `width` × `height` canvas, for the game's panel.
 *
 * @param context The target canvas's 2D context.
 * @param pose The target pose.
 * @param width Canvas width.
 * @param height Canvas height.
 */
export function drawTarget(
  context: CanvasRenderingContext2D,
  pose: GamePose,
  width: number,
  height: number,
): void {
  const xs = pose.keypoints.map((k) => k.x);
  const ys = pose.keypoints.map((k) => k.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = 0.8 * Math.min(width / (x1 - x0 || 1), height / (y1 - y0 || 1));
  const dx = width / 2 - scale * (x0 + x1) / 2;
  const dy = height / 2 - scale * (y0 + y1) / 2;
  context.fillStyle = "#111";
  context.fillRect(0, 0, width, height);
  const placed = {
    keypoints: pose.keypoints.map((k) => ({ ...k, x: k.x * scale + dx, y: k.y * scale + dy })),
  };
  drawSkeletons(context, [placed], { lineWidth: 3 });
}
