import assert from "node:assert/strict";
import { GAME_LEVELS, PoseGame, poseSimilarity, stickFigure } from "../web/pose_game.ts";
import { mulberry32, runSeed } from "./support/random.ts";

Deno.test("`poseSimilarity()` is 1 for the same pose moved and scaled, lower for another pose", () => {
  const random = mulberry32(runSeed("pose game"));
  for (const level of GAME_LEVELS) {
    const [s, dx, dy] = [0.5 + 3 * random(), 500 * random(), 500 * random()];
    const moved = {
      keypoints: level.target.keypoints.map((k) => ({ ...k, x: s * k.x + dx, y: s * k.y + dy })),
    };
    // 1 − √(2 − 2·cos): a cosine 1 ulp below 1 is a distance of 1.5e-8.
    assert.ok(Math.abs(poseSimilarity(level.target, moved) - 1) < 1e-6, level.name);
    for (const other of GAME_LEVELS) {
      if (other === level) continue;
      const similarity = poseSimilarity(level.target, other.target);
      assert.ok(similarity < level.threshold, `${other.name} passes ${level.name}: ${similarity}`);
    }
  }
});

Deno.test("`poseSimilarity()` counts only seen keypoints and scales by the target's shown", () => {
  const target = stickFigure(90, 90);
  const hidden = { keypoints: target.keypoints.map((k, i) => ({ ...k, score: i < 5 ? 0 : 1 })) };
  assert.ok(Math.abs(poseSimilarity(target, hidden) - 12 / 17) < 1e-9);
  const none = { keypoints: target.keypoints.map((k) => ({ ...k, score: 0.1 })) };
  assert.equal(poseSimilarity(target, none), 0);
});

Deno.test("`PoseGame` passes a level on a match, scores the time left, and ends on the clock", () => {
  const game = new PoseGame(GAME_LEVELS.slice(0, 2));
  game.start(0);
  assert.equal(game.update(stickFigure(90, 90), 1000).level, 0, "the wrong pose passes nothing");
  const passed = game.update(GAME_LEVELS[0].target, 5000);
  assert.equal(passed.level, 1);
  assert.equal(passed.points, 100 + Math.round(10 * (GAME_LEVELS[0].seconds - 5)));
  const late = game.update(GAME_LEVELS[1].target, 5000 + GAME_LEVELS[1].seconds * 1000 + 1);
  assert.ok(late.over && !late.won, "a match after the clock ran out does not count");
});
