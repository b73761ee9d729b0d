/**
 * Something built on first use: pipelines a call may never need (PoseNet's multi-pose decode) are
 * built by the first call that does, shared by concurrent first calls, and built again by the next
 * call after a failed build.
 *
 * @module
 */

/**
 * Wraps `build` so that it runs on the first call of the result, whose promise every later call
 * shares; a rejected build is forgotten, so the next call tries again.
 *
 * @param build Makes the thing.
 * @returns A function giving the thing, built once.
 *
 * @example
 * ```ts
 * import { builtOnFirstUse } from "./_first_use.ts";
 * let builds = 0;
 * const pipeline = builtOnFirstUse(() => Promise.resolve(++builds));
 * console.log(builds); // 0: nothing built yet
 * await Promise.all([pipeline(), pipeline()]);
 * console.log(builds, await pipeline()); // 1 1
 * ```
 */
export function builtOnFirstUse<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    if (built === undefined) {
      const building = build();
      built = building;
      building.catch(() => {
        if (built === building) built = undefined;
      });
    }
    return built;
  };
}
