/**
 * The max-heap of root candidates of the multi-pose decode, a step-for-step copy of PoseNet 2.x's
 * `MaxHeap` so that candidates with equal scores leave in TF.js's order.
 *
 * @module
 */

import type { PartCandidate } from "./multi_pose.ts";

/**
 * A binary max-heap on candidate scores that reproduces PoseNet's `MaxHeap` step for step, so
 * candidates with equal scores leave in the same order as in TF.js. Its layout is unusual: the
 * parent of slot `k` is `floor(k / 2)` and the children of `k` are `2k` and `2k + 1` on a 0-based
 * array, so slot 0 sits above slot 1 only. Swaps happen only on strict `<`.
 *
 * @example
 * ```ts
 * import { CandidateHeap } from "./_candidate_heap.ts";
 *
 * const heap = new CandidateHeap();
 * heap.push({ part: 0, y: 0, x: 0, score: 0.6 });
 * heap.push({ part: 1, y: 0, x: 0, score: 0.9 });
 * console.log(heap.pop().part, heap.isEmpty); // 1 false
 * ```
 */
export class CandidateHeap<C extends PartCandidate> {
  #items: C[] = [];
  #last = -1;

  /** Whether no candidate is left. */
  get isEmpty(): boolean {
    return this.#last === -1;
  }

  /**
   * Adds a candidate.
   *
   * @param candidate The candidate.
   */
  push(candidate: C): void {
    this.#items[++this.#last] = candidate;
    let k = this.#last;
    while (k > 0 && this.#less(k >> 1, k)) {
      this.#swap(k, k >> 1);
      k >>= 1;
    }
  }

  /**
   * Takes the candidate on top (the best score; ties in PoseNet's order).
   *
   * @returns The candidate; the heap must not be empty.
   */
  pop(): C {
    const top = this.#items[0];
    this.#swap(0, this.#last--);
    let k = 0;
    while (2 * k <= this.#last) {
      let j = 2 * k;
      if (j < this.#last && this.#less(j, j + 1)) j++;
      if (!this.#less(k, j)) break;
      this.#swap(k, j);
      k = j;
    }
    this.#items.length = this.#last + 1;
    return top;
  }

  #less(i: number, j: number): boolean {
    return this.#items[i].score < this.#items[j].score;
  }

  #swap(i: number, j: number): void {
    const t = this.#items[i];
    this.#items[i] = this.#items[j];
    this.#items[j] = t;
  }
}
