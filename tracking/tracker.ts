/**
 * The multi-person tracker's matching: pose-detection 2.1.3's `Tracker` base class
 * (`calculators/tracker.js`). Each frame it drops tracks older than `maxAge`, scores every
 * (pose, track) pair with the subclass's similarity, links each pose in turn (most confident first)
 * to its most similar free track at or above `minSimilarity`, starts a new track (a new id) for
 * each pose left over, and keeps the `maxTracks` freshest tracks. Timestamps are microseconds, as
 * in pose-detection.
 *
 * @module
 */

import type { BoundingBox, TrackerConfig } from "../detectors/detector_types.ts";

/** A keypoint as the trackers read it: position in fractions of the image, and its score. */
export interface TrackedKeypoint {
  /** Column, a fraction of the image width. */
  readonly x: number;
  /** Row, a fraction of the image height. */
  readonly y: number;
  /** Confidence in [0, 1]. */
  readonly score: number;
}

/** What a tracker matches: a pose's keypoints and, for the box tracker, its box. */
export interface TrackablePose {
  /** The keypoints, in fractions of the image. */
  readonly keypoints: readonly TrackedKeypoint[];
  /** The box, in the same fractions (the box tracker needs it). */
  readonly box?: BoundingBox;
}

/** One track: the last pose linked to it and when. */
export interface Track {
  /** The track's id, from 1, never reused by one tracker. */
  readonly id: number;
  /** When a pose was last linked, in microseconds. */
  readonly lastTimestamp: number;
  /** That pose's keypoints (copies). */
  readonly keypoints: readonly TrackedKeypoint[];
  /** That pose's box (a copy), where it had one. */
  readonly box?: BoundingBox;
}

interface MutableTrack {
  id: number;
  lastTimestamp: number;
  keypoints: TrackedKeypoint[];
  box?: BoundingBox;
}

/**
 * The matching every tracker shares; a subclass says how similar a pose is to a track.
 *
 * @example
 * ```ts
 * import { PoseTrackerBase, type Track, type TrackablePose } from "./tracker.ts";
 *
 * // Similar when the noses are within 0.1 of each other.
 * class NoseTracker extends PoseTrackerBase {
 *   protected similarity(pose: TrackablePose, track: Track): number {
 *     const [a, b] = [pose.keypoints[0], track.keypoints[0]];
 *     return Math.hypot(a.x - b.x, a.y - b.y) < 0.1 ? 1 : 0;
 *   }
 * }
 * const tracker = new NoseTracker({ maxTracks: 5, maxAge: 1000, minSimilarity: 0.5 });
 * const nose = (x: number) => ({ keypoints: [{ x, y: 0.5, score: 1 }] });
 * console.log(tracker.apply([nose(0.2), nose(0.7)], 0)); // [1, 2]
 * console.log(tracker.apply([nose(0.72), nose(0.21)], 33_000)); // [2, 1]
 * ```
 */
export abstract class PoseTrackerBase {
  #tracks: MutableTrack[] = [];
  readonly #maxTracks: number;
  readonly #maxAgeMicroseconds: number;
  readonly #minSimilarity: number;
  #nextId = 1;

  /**
   * Makes a tracker with no tracks; the first id is 1.
   *
   * @param config Limits, already resolved and checked (`resolveTrackerConfig`); `maxAge` in ms.
   */
  constructor(config: TrackerConfig) {
    this.#maxTracks = config.maxTracks;
    this.#maxAgeMicroseconds = config.maxAge * 1000;
    this.#minSimilarity = config.minSimilarity;
  }

  /**
   * How similar a pose is to a track (IoU, OKS, …); higher is more similar.
   *
   * @param pose A pose of this frame.
   * @param track A live track.
   * @returns The similarity.
   */
  protected abstract similarity(pose: TrackablePose, track: Track): number;

  /**
   * Links this frame's poses to tracks.
   *
   * @param poses The frame's poses, most confident first (they are not changed).
   * @param microseconds The frame's time in microseconds.
   * @returns Each pose's track id, in the poses' order.
   */
  apply(poses: readonly TrackablePose[], microseconds: number): number[] {
    this.#tracks = this.#tracks.filter((t) =>
      microseconds - t.lastTimestamp <= this.#maxAgeMicroseconds
    );
    const tracks = this.#tracks;
    const free = tracks.map((_, i) => i);
    const ids: number[] = new Array(poses.length);
    const unmatched: number[] = [];
    for (const [p, pose] of poses.entries()) {
      let best = -1;
      let bestSimilarity = -1;
      for (const t of free) {
        const s = this.similarity(pose, tracks[t]);
        if (s >= this.#minSimilarity && s > bestSimilarity) {
          best = t;
          bestSimilarity = s;
        }
      }
      if (best < 0) {
        unmatched.push(p);
        continue;
      }
      this.#link(tracks[best], pose, microseconds);
      ids[p] = tracks[best].id;
      free.splice(free.indexOf(best), 1);
    }
    for (const p of unmatched) {
      const track: MutableTrack = { id: this.#nextId++, lastTimestamp: 0, keypoints: [] };
      this.#link(track, poses[p], microseconds);
      tracks.push(track);
      ids[p] = track.id;
    }
    // Freshest first (a stable sort keeps the order of equals), then at most maxTracks.
    tracks.sort((a, b) => b.lastTimestamp - a.lastTimestamp);
    this.#tracks = tracks.slice(0, this.#maxTracks);
    return ids;
  }

  /** The live tracks (copies of the list; freshest first). */
  get tracks(): readonly Track[] {
    return this.#tracks.slice();
  }

  /** The ids of the live tracks. */
  get trackIds(): Set<number> {
    return new Set(this.#tracks.map((t) => t.id));
  }

  /** Drops every track; ids keep counting (a later track never reuses one). */
  reset(): void {
    this.#tracks = [];
  }

  #link(track: MutableTrack, pose: TrackablePose, microseconds: number): void {
    track.lastTimestamp = microseconds;
    track.keypoints = pose.keypoints.map((k) => ({ ...k }));
    // A pose without a box keeps the track's old box, as pose-detection's Object.assign does.
    if (pose.box !== undefined) track.box = { ...pose.box };
  }
}
