/**
 * WGSL generator for a fused MobileNetV1 block: depthwise 3x3 (stride 1, dilation 1, TF SAME
 * padding, bias, ReLU6) followed by pointwise C→N (bias, ReLU6), in one dispatch, the depthwise
 * result kept in workgroup memory instead of a storage buffer.
 *
 * @module
 */

import {
  activation,
  bindingDeclaration,
  unroll,
  WORKGROUP_SIZE,
  workgroupEntryPoint,
} from "./wgsl_common.ts";
import { forTiles, tileFmas } from "./_register_tile.ts";

/** Shape and tile constants baked into a fused-block shader. */
export interface FusedBlockShaderParams {
  /** Rows (input = output: stride 1). */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** Input (and depthwise) `vec4` slots, `ceil(inChannels / 4)`. */
  readonly inSlots: number;
  /** Output `vec4` slots, `ceil(outChannels / 4)`. */
  readonly outSlots: number;
  /** Zero rows above the input (TF SAME: 1 for a 3x3 kernel at stride 1). */
  readonly padTop: number;
  /** Zero columns left of the input (likewise 1). */
  readonly padLeft: number;
  /** Pointwise register tile: pixels per invocation. */
  readonly tilePixels: number;
  /** Pointwise register tile: output `vec4` slots per invocation. */
  readonly tileSlots: number;
  /** Input slots per chunk: the depthwise outputs held in workgroup memory at a time. */
  readonly chunkSlots: number;
  /** Depthwise: consecutive pixels per work item, sharing their tap loads (default 8). */
  readonly runPixels?: number;
}

/** How a fused-block dispatch is cut up, derived from {@linkcode FusedBlockShaderParams}. */
export interface FusedBlockLayout {
  /** Output-slot tiles per workgroup: `ceil(outSlots / tileSlots)` (a workgroup covers them all). */
  readonly slotTiles: number;
  /** Pointwise pixel tiles per workgroup: `floor(64 / slotTiles)`. */
  readonly pixelTiles: number;
  /** Pixels per workgroup, consecutive in raster order: `pixelTiles · tilePixels`. */
  readonly groupPixels: number;
  /** Invocations with a pointwise tile (`pixelTiles · slotTiles` ≤ 64); the rest only help the depthwise. */
  readonly pointwiseLanes: number;
  /** Depthwise runs per workgroup: `ceil(groupPixels / runPixels)`. */
  readonly runs: number;
  /** Input rows a run of `runPixels` consecutive pixels can touch the row of: windows it loads. */
  readonly windows: number;
  /** `vec4` of workgroup memory: `groupPixels · chunkSlots`. */
  readonly workgroupVec4s: number;
  /** Workgroups of the dispatch: `ceil(height · width / groupPixels)`. */
  readonly workgroups: number;
}

/**
 * The dispatch layout of a fused block: what the host needs for the grid and the limits.
 *
 * @param p Shader parameters.
 * @returns The layout.
 *
 * @example
 * ```ts
 * import { fusedBlockLayout } from "./fused_block.ts";
 * const layout = fusedBlockLayout({
 *   height: 17, width: 17, inSlots: 96, outSlots: 96, padTop: 1, padLeft: 1,
 *   tilePixels: 16, tileSlots: 3, chunkSlots: 16,
 * });
 * console.log(layout.groupPixels, layout.workgroups, layout.workgroupVec4s); // 32 10 512
 * ```
 */
export function fusedBlockLayout(p: FusedBlockShaderParams): FusedBlockLayout {
  const runPixels = p.runPixels ?? 8;
  const slotTiles = Math.ceil(p.outSlots / p.tileSlots);
  const pixelTiles = Math.floor(WORKGROUP_SIZE / slotTiles);
  const groupPixels = pixelTiles * p.tilePixels;
  return {
    slotTiles,
    pixelTiles,
    groupPixels,
    pointwiseLanes: pixelTiles * slotTiles,
    runs: Math.ceil(groupPixels / runPixels),
    windows: 1 + Math.ceil((runPixels - 1) / p.width),
    workgroupVec4s: groupPixels * p.chunkSlots,
    workgroups: Math.ceil((p.height * p.width) / Math.max(1, groupPixels)),
  };
}

/**
 * Offsets of the pointwise weights and bias in the kernel's two weight buffers: the filter buffer
 * holds the depthwise taps (`9 · inSlots` vec4, the depthwise kernel's layout) and then the
 * pointwise rows (`inSlots · 4 · outSlots` vec4, the pointwise kernel's layout); the bias buffer the
 * depthwise bias (`inSlots` vec4) and then the pointwise bias (`outSlots` vec4).
 *
 * @param inSlots Input `vec4` slots.
 * @returns `vec4` offsets of the pointwise weights and pointwise bias.
 *
 * @example
 * ```ts
 * import { fusedBlockOffsets } from "./fused_block.ts";
 * console.log(fusedBlockOffsets(96)); // { pointwiseWeights: 864, pointwiseBias: 96 }
 * ```
 */
export function fusedBlockOffsets(
  inSlots: number,
): { pointwiseWeights: number; pointwiseBias: number } {
  return { pointwiseWeights: 9 * inSlots, pointwiseBias: inSlots };
}

/**
 * Generates the fused-block shader for one shape.
 *
 * @param p Shape and tile constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { fusedBlockShader } from "./fused_block.ts";
 * const wgsl = fusedBlockShader({
 *   height: 33, width: 33, inSlots: 96, outSlots: 96, padTop: 1, padLeft: 1,
 *   tilePixels: 16, tileSlots: 3, chunkSlots: 16,
 * });
 * console.log(wgsl.includes("workgroupBarrier()")); // true
 * ```
 */
export function fusedBlockShader(p: FusedBlockShaderParams): string {
  const L = fusedBlockLayout(p);
  const TP = p.tilePixels;
  const TN = p.tileSlots;
  const KC = p.chunkSlots;
  const TR = p.runPixels ?? 8;
  const offsets = fusedBlockOffsets(p.inSlots);
  const items = KC * L.runs;
  const allLanes = L.pointwiseLanes === WORKGROUP_SIZE;
  const forTile = (fn: (i: number, n: number) => string) => forTiles(TP, TN, fn);
  return `// Fused MobileNetV1 block: depthwise 3x3, stride 1, TF SAME padding, bias, ReLU6, then pointwise
// ${p.inSlots * 4}→${p.outSlots * 4} channels, bias, ReLU6:
//   mid[y][x][c] = relu6(dwBias[c] + sum_ky,kx in[y - PAD_T + ky][x - PAD_L + kx][c] * dw[ky][kx][c])
//   out[y][x][n] = relu6(pwBias[n] + sum_c mid[y][x][c] * pw[c][n])
// Layout: input and output NHWC4 (IN_SLOTS / OUT_SLOTS vec4 per pixel). Weights, binding 1: the
// depthwise taps [9][IN_SLOTS] vec4 (as the depthwise kernel takes them), then from vec4 PW the
// pointwise rows [IN_SLOTS·4][OUT_SLOTS] vec4 (as the pointwise kernel takes them). Bias, binding 2:
// depthwise [IN_SLOTS] vec4, then from vec4 PW_BIAS pointwise [OUT_SLOTS] vec4.
// Workgroup: ${WORKGROUP_SIZE} invocations own ${L.groupPixels} consecutive pixels (raster order) and every output
// channel. The input channels are walked in chunks of ${KC} slots. Per chunk: (1) the workgroup
// computes the chunk's depthwise outputs for its pixels into workgroup memory (${L.workgroupVec4s} vec4,
// ${
    L.workgroupVec4s * 16
  } bytes): one work item is ${TR} consecutive pixels × one slot, its taps loaded once per
// input row they share (a run that wraps onto the next image row loads a second window, up to
// ${L.windows} in all, and each pixel picks its own); barrier; (2) each of ${L.pointwiseLanes} invocations adds the chunk to
// its ${TP} pixel × ${TN} slot register tile, inputs from workgroup memory, weights from storage;
// barrier. Why: on llvmpipe a storage-buffer load is a per-lane scalar loop and sets the pace;
// the two-kernel path writes the depthwise result to storage and the pointwise kernel reads it
// back (${TP} pixels per tile there too), here those reads are workgroup-memory loads (about 1.5×
// cheaper) and the depthwise store disappears. Weight loads per FMA are the pointwise kernel's at
// the same tilePixels. Tail pixels (past the image) compute on clamped loads and skip their stores;
// whole workgroups past the end return together, and the chunk loop is the same for every
// invocation, so each workgroupBarrier() is reached uniformly.
// Same arithmetic as the two kernels: depthwise taps in (ky, kx) order by fma from zero, bias then
// ReLU6; pointwise each input vec4's 4 products summed first, then added, bias last.
// Measured on llvmpipe (bench/fused_block_bench.ts): slower than the two kernels; its barriers are
// coroutine suspends there, and the register tile lives across them.
const IN_H: i32 = ${p.height};
const IN_W: i32 = ${p.width};
const PIXELS: u32 = ${p.height * p.width}u;
const IN_SLOTS: u32 = ${p.inSlots}u;
const OUT_SLOTS: u32 = ${p.outSlots}u;
const PW: u32 = ${offsets.pointwiseWeights}u;
const PW_BIAS: u32 = ${offsets.pointwiseBias}u;
const CHUNK: u32 = ${KC}u;
const GROUP_PIXELS: u32 = ${L.groupPixels}u;
const SLOT_TILES: u32 = ${L.slotTiles}u;
const WORKGROUPS: u32 = ${L.workgroups}u;
const ITEMS: u32 = ${items}u;

${bindingDeclaration("input")}
${bindingDeclaration("filter")}
${bindingDeclaration("bias")}
${bindingDeclaration("output")}

var<workgroup> mid: array<vec4<f32>, ${L.workgroupVec4s}>;

${workgroupEntryPoint()}
  let p0 = group * GROUP_PIXELS;
  let n0 = (lane % SLOT_TILES) * ${TN}u;
  let local0 = min(lane / SLOT_TILES, ${L.pixelTiles - 1}u) * ${TP}u;
${unroll(TN, (n) => `  let col${n} = min(n0 + ${n}u, OUT_SLOTS - 1u);`)}
${forTile((i, n) => `  var acc${i}_${n} = vec4<f32>(0.0);`)}
  for (var k0 = 0u; k0 < IN_SLOTS; k0 += CHUNK) {
    for (var item = lane; item < ITEMS; item += ${WORKGROUP_SIZE}u) {
${depthwiseItem(p, L, TR)}
    }
    workgroupBarrier();
    let count = min(CHUNK, IN_SLOTS - k0);
${allLanes ? "    {" : `    if (lane < ${L.pointwiseLanes}u) {`}
      for (var kk = 0u; kk < count; kk++) {
${unroll(TP, (i) => `        let a${i} = mid[(local0 + ${i}u) * CHUNK + kk];`)}
        let w = PW + (k0 + kk) * 4u * OUT_SLOTS;
${
    unroll(4 * TN, (t) =>
      `        let w${t >> 2}_${t % 4} = weights[w + ${t % 4}u * OUT_SLOTS + col${t >> 2}];`)
  }
${tileFmas(TP, TN, "        ")}
      }
    }
    workgroupBarrier();
  }
${allLanes ? "" : `  if (lane >= ${L.pointwiseLanes}u) { return; }\n`}${
    unroll(TN, (n) => `  let b${n} = bias[PW_BIAS + col${n}];`)
  }
${
    forTile((i, n) =>
      `  if (p0 + local0 + ${i}u < PIXELS && n0 + ${n}u < OUT_SLOTS) { ` +
      `output[(p0 + local0 + ${i}u) * OUT_SLOTS + n0 + ${n}u] = ${
        activation(`acc${i}_${n} + b${n}`, "relu6")
      }; }`
    )
  }
}
`;
}

/**
 * One depthwise work item: `runPixels` consecutive pixels of one slot of the chunk. Window `r`
 * holds, for each kernel row, the input columns of the pixels that lie `r` image rows below the
 * run's first pixel; each pixel selects its window per tap, so a run may wrap rows.
 */
function depthwiseItem(p: FusedBlockShaderParams, L: FusedBlockLayout, TR: number): string {
  const R = L.windows;
  const span = TR + 2; // columns per window: the run plus one each side
  const lines: string[] = [
    `      let kk = item % CHUNK;`,
    `      let run = item / CHUNK;`,
    `      let c = min(k0 + kk, IN_SLOTS - 1u);`,
    `      let q = p0 + run * ${TR}u;`,
    `      let x0 = i32(q % u32(IN_W));`,
    `      let yTop = i32(q / u32(IN_W)) - ${p.padTop};`,
    `      let xLeft = x0 - ${p.padLeft};`,
    unroll(9, (t) => `      let k${t} = weights[${t}u * IN_SLOTS + c];`),
    `      let b = bias[c];`,
    unroll(TR, (j) => `      var acc${j} = vec4<f32>(0.0);`),
  ];
  if (R > 1) {
    lines.push(unroll(TR, (j) => `      let row${j} = i32(u32(x0 + ${j}) / u32(IN_W));`));
  }
  const load = (r: number, e: number, indent: string) =>
    `${indent}select(vec4<f32>(0.0), input[(rowBase${r} + u32(clamp(xLeft + ${
      e - r * p.width
    }, 0, IN_W - 1))) * IN_SLOTS + c], rowOk${r} && xLeft + ${e - r * p.width} >= 0 && xLeft + ${
      e - r * p.width
    } < IN_W)`;
  for (let ky = 0; ky < 3; ky++) {
    lines.push(`      {`);
    for (let r = 0; r < R; r++) {
      lines.push(
        `        let y${r} = yTop + ${r + ky};`,
        `        let rowOk${r} = y${r} >= 0 && y${r} < IN_H;`,
        `        let rowBase${r} = u32(clamp(y${r}, 0, IN_H - 1)) * u32(IN_W);`,
      );
      if (r === 0) {
        for (let e = 0; e < span; e++) lines.push(`        let v0_${e} = ${load(0, e, "")};`);
      } else {
        // Loaded only when some pixel of the run lies r rows down (uniform within a SIMD group:
        // its lanes are consecutive slots of the same run).
        for (let e = 0; e < span; e++) lines.push(`        var v${r}_${e} = vec4<f32>(0.0);`);
        lines.push(`        if (x0 + ${TR - 1} >= ${r * p.width}) {`);
        for (let e = 0; e < span; e++) lines.push(`          v${r}_${e} = ${load(r, e, "")};`);
        lines.push(`        }`);
      }
    }
    for (let j = 0; j < TR; j++) {
      for (let kx = 0; kx < 3; kx++) {
        const e = j + kx;
        let v = `v0_${e}`;
        for (let r = 1; r < R; r++) v = `select(${v}, v${r}_${e}, row${j} == ${r})`;
        lines.push(`        acc${j} = fma(${v}, k${ky * 3 + kx}, acc${j});`);
      }
    }
    lines.push(`      }`);
  }
  const guard = L.runs * TR > L.groupPixels;
  for (let j = 0; j < TR; j++) {
    const store = `mid[(run * ${TR}u + ${j}u) * CHUNK + kk] = ${
      activation(`acc${j} + b`, "relu6")
    };`;
    lines.push(
      guard ? `      if (run * ${TR}u + ${j}u < GROUP_PIXELS) { ${store} }` : `      ${store}`,
    );
  }
  return lines.join("\n");
}
