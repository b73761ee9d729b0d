/**
 * Calls run one at a time, in the order they were made: what the MoveNet detectors need, since a
 * video frame's crop and tracks come from the frame before it.
 *
 * @module
 */

/**
 * Makes a queue: each call given to the result starts once the call before it has settled
 * (resolved or rejected), and its result, a rejection included, goes to its own caller only.
 *
 * @returns A function that queues `call` and gives its result.
 *
 * @example
 * ```ts
 * import { callsInOrder } from "./_call_queue.ts";
 * const queue = callsInOrder();
 * const order: number[] = [];
 * const slow = queue(() => new Promise<void>((r) => setTimeout(() => (order.push(1), r()), 10)));
 * const fails = queue(() => Promise.reject(new Error("no")));
 * const fast = queue(() => Promise.resolve(order.push(3)));
 * await Promise.allSettled([slow, fails, fast]);
 * console.log(order); // [1, 3]: the second call waited for the first, the failure did not stop the third
 * ```
 */
export function callsInOrder(): <T>(call: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(call: () => Promise<T>) => {
    const result = last.then(call, call);
    last = result.catch(() => {});
    return result;
  };
}
