import assert from "node:assert/strict";
import { callsInOrder } from "../detectors/_call_queue.ts";

/** A call that records its start and end, finishing after `ms`. */
function recorded(log: string[], name: string, ms: number, fail = false) {
  return () => {
    log.push(`${name} start`);
    return new Promise<string>((resolve, reject) =>
      setTimeout(() => {
        log.push(`${name} end`);
        if (fail) reject(new Error(name));
        else resolve(name);
      }, ms)
    );
  };
}

Deno.test("callsInOrder() starts each call after the one before it has settled", async () => {
  const queue = callsInOrder();
  const log: string[] = [];
  // Decreasing durations: without the queue the later calls would finish first.
  const results = await Promise.all([
    queue(recorded(log, "a", 30)),
    queue(recorded(log, "b", 10)),
    queue(recorded(log, "c", 0)),
  ]);
  assert.deepEqual(results, ["a", "b", "c"]);
  assert.deepEqual(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
});

Deno.test("callsInOrder() gives a rejection to its own caller only and goes on", async () => {
  const queue = callsInOrder();
  const log: string[] = [];
  const first = queue(recorded(log, "a", 10, true));
  const second = queue(recorded(log, "b", 0));
  const thrown = queue(() => {
    throw new Error("sync");
  });
  const third = queue(recorded(log, "c", 0));
  await assert.rejects(first, /^Error: a$/);
  assert.equal(await second, "b");
  await assert.rejects(thrown, /sync/);
  assert.equal(await third, "c");
  assert.deepEqual(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
});
