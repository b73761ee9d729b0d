/**
 * A TF.js graph evaluated in float64 on the CPU: the accuracy yardstick for two float32
 * implementations of the same graph (the ONNX model in ONNX Runtime, TF.js, the GPU runtime) where
 * they differ by more than a tight tolerance, e.g. on random inputs. It interprets the graph's
 * nodes directly, written from TensorFlow's definitions of the ops, and shares no code with the
 * ONNX converter: the float32 weights (decoded by TF.js, `tfjs_artifacts.ts`) and the input are
 * used as they are; every product and sum after that is float64.
 *
 * Ops: `Placeholder`, `Const`, `Identity`, `Cast`, the batch-1 shape ops `Unpack` (num 1),
 * `ExpandDims`, `Squeeze` and `Reshape`, `Add`/`AddV2`/`Sub`/`Mul`/`RealDiv` with broadcasting,
 * `Relu`, `Relu6`, `BiasAdd`, `Conv2D`, `DepthwiseConv2dNative` and their fused forms
 * (`fused_ops` BiasAdd [+ Relu | Relu6]), with SAME, VALID or EXPLICIT padding, strides and
 * dilations, and `ResizeBilinear` (half-pixel centres, align corners, or neither): enough for a
 * conv net up to its heads, not the decode ops after them. Activations are NHWC `Float64Array`s.
 *
 * @module
 */

import { tfSamePads } from "./onnx_graph.ts";
import type { TfjsConstant, TfjsGraphNode } from "./tfjs_artifacts.ts";

/** One float64 tensor. */
export interface Float64Tensor {
  /** Shape. */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly data: Float64Array;
}

type Op = (node: TfjsGraphNode, inputs: Float64Tensor[]) => Float64Tensor;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const b64 = (s: string) =>
  new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
const ints = (node: TfjsGraphNode, key: string, fallback: number[]): number[] =>
  node.attr?.[key]?.list?.i?.map(Number) ?? fallback;
const str = (node: TfjsGraphNode, key: string): string | undefined =>
  node.attr?.[key]?.s === undefined ? undefined : b64(node.attr[key].s);

function fail(node: TfjsGraphNode, message: string): never {
  throw new Error(`float64 evaluation: node ${node.name} (${node.op}): ${message}`);
}

/** NumPy broadcasting of an element-wise binary op. */
function broadcastBinary(
  node: TfjsGraphNode,
  a: Float64Tensor,
  b: Float64Tensor,
  f: (x: number, y: number) => number,
): Float64Tensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: readonly number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const [sa, sb] = [pad(a.shape), pad(b.shape)];
  const shape = sa.map((x, i) => {
    if (x !== sb[i] && x !== 1 && sb[i] !== 1) fail(node, `[${a.shape}] and [${b.shape}]`);
    return x === 1 ? sb[i] : x;
  });
  const strides = (s: number[]) => {
    const st = new Array(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) {
      st[i] = s[i] === 1 ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  const [ta, tb] = [strides(sa), strides(sb)];
  const out = new Float64Array(size(shape));
  const index = new Array(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += index[d] * ta[d];
      ib += index[d] * tb[d];
    }
    out[i] = f(a.data[ia], b.data[ib]);
    for (let d = rank - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return { shape, data: out };
}

const relu = (x: number) => (x > 0 ? x : 0);
const relu6 = (x: number) => Math.min(Math.max(x, 0), 6);

/** TF's conv (groups = cin / filter cin) or depthwise conv (channel multiplier), NHWC. */
function conv(node: TfjsGraphNode, inputs: Float64Tensor[], depthwise: boolean): Float64Tensor {
  const [x, w] = inputs;
  const [n, h, wd, c] = x.shape;
  const [kh, kw, fc, fm] = w.shape;
  if (n !== 1) fail(node, "batch must be 1");
  const [, sh, sw] = ints(node, "strides", [1, 1, 1, 1]);
  const [, dh, dw] = ints(node, "dilations", [1, 1, 1, 1]);
  const padding = str(node, "padding");
  let top = 0;
  let left = 0;
  let bottom = 0;
  let right = 0;
  if (padding === "SAME") {
    [top, bottom] = tfSamePads(h, kh, sh, dh);
    [left, right] = tfSamePads(wd, kw, sw, dw);
  } else if (padding === "EXPLICIT") {
    const p = ints(node, "explicit_paddings", []);
    [top, bottom, left, right] = [p[2], p[3], p[4], p[5]];
  } else if (padding !== "VALID") {
    fail(node, `padding ${padding}`);
  }
  const ho = Math.floor((h + top + bottom - (kh - 1) * dh - 1) / sh) + 1;
  const wo = Math.floor((wd + left + right - (kw - 1) * dw - 1) / sw) + 1;
  const cout = depthwise ? c * fm : fm;
  const groups = depthwise ? c : c / fc;
  const gin = depthwise ? 1 : fc; // input channels per group
  const gout = cout / groups; // output channels per group
  const out = new Float64Array(ho * wo * cout);
  const xd = x.data;
  const wt = w.data;
  const acc = new Float64Array(cout);
  for (let oy = 0; oy < ho; oy++) {
    for (let ox = 0; ox < wo; ox++) {
      acc.fill(0);
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * sh - top + ky * dh;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * sw - left + kx * dw;
          if (ix < 0 || ix >= wd) continue;
          const xo = (iy * wd + ix) * c;
          const wo0 = (ky * kw + kx) * fc * fm;
          if (depthwise) {
            for (let ci = 0; ci < c; ci++) {
              const v = xd[xo + ci];
              for (let m = 0; m < fm; m++) acc[ci * fm + m] += v * wt[wo0 + ci * fm + m];
            }
          } else {
            for (let g = 0; g < groups; g++) {
              for (let ci = 0; ci < gin; ci++) {
                const v = xd[xo + g * gin + ci];
                const row = wo0 + ci * fm + g * gout;
                for (let co = 0; co < gout; co++) acc[g * gout + co] += v * wt[row + co];
              }
            }
          }
        }
      }
      out.set(acc, (oy * wo + ox) * cout);
    }
  }
  const y = { shape: [1, ho, wo, cout], data: out };
  const fused = node.attr?.fused_ops?.list?.s?.map(b64) ?? [];
  if (fused.length === 0) return y;
  if (fused[0] !== "BiasAdd" || fused.length > 2) fail(node, `fused ops [${fused}]`);
  const bias = inputs[2].data;
  const act = fused[1] === undefined
    ? (v: number) => v
    : fused[1] === "Relu"
    ? relu
    : fused[1] === "Relu6"
    ? relu6
    : fail(node, `fused op ${fused[1]}`);
  for (let i = 0; i < out.length; i++) out[i] = act(out[i] + bias[i % cout]);
  return y;
}

/** TF's ResizeBilinear (legacy kernel's interpolation weights), NHWC, batch 1. */
function resizeBilinear(node: TfjsGraphNode, [x, sizeT]: Float64Tensor[]): Float64Tensor {
  const [, h, w, c] = x.shape;
  const [oh, ow] = Array.from(sizeT.data);
  const alignCorners = node.attr?.align_corners?.b === true;
  const halfPixel = node.attr?.half_pixel_centers?.b === true;
  const weights = (inSize: number, outSize: number) => {
    const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
    return Array.from({ length: outSize }, (_, i) => {
      const src = halfPixel ? (i + 0.5) * scale - 0.5 : i * scale;
      const lower = Math.max(Math.floor(src), 0);
      const upper = Math.min(Math.ceil(src), inSize - 1);
      return { lower, upper, lerp: src - Math.floor(src) };
    });
  };
  const ys = weights(h, oh);
  const xs = weights(w, ow);
  const out = new Float64Array(oh * ow * c);
  const d = x.data;
  for (let oy = 0; oy < oh; oy++) {
    const { lower: y0, upper: y1, lerp: fy } = ys[oy];
    for (let ox = 0; ox < ow; ox++) {
      const { lower: x0, upper: x1, lerp: fx } = xs[ox];
      for (let ci = 0; ci < c; ci++) {
        const tl = d[(y0 * w + x0) * c + ci];
        const tr = d[(y0 * w + x1) * c + ci];
        const bl = d[(y1 * w + x0) * c + ci];
        const br = d[(y1 * w + x1) * c + ci];
        const top = tl + (tr - tl) * fx;
        const bottom = bl + (br - bl) * fx;
        out[(oy * ow + ox) * c + ci] = top + (bottom - top) * fy;
      }
    }
  }
  return { shape: [1, oh, ow, c], data: out };
}

const reshaped = (x: Float64Tensor, shape: number[]): Float64Tensor => ({ shape, data: x.data });
const axis = (a: number, rank: number) => (a < 0 ? a + rank : a);

const OPS: Readonly<Record<string, Op>> = {
  Identity: (_, [x]) => x,
  Cast: (node, [x]) =>
    node.attr?.DstT?.type === "DT_INT32" ? { shape: x.shape, data: x.data.map(Math.trunc) } : x,
  Unpack(node, [x]) {
    const a = axis(Number(node.attr?.axis?.i ?? 0), x.shape.length);
    if (x.shape[a] !== 1) fail(node, "only num 1 is supported");
    return reshaped(x, x.shape.filter((_, i) => i !== a));
  },
  ExpandDims(_, [x, dim]) {
    const a = axis(dim.data[0], x.shape.length + 1);
    return reshaped(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
  },
  Squeeze(node, [x]) {
    const given = ints(node, "squeeze_dims", []).map((a) => axis(a, x.shape.length));
    return reshaped(x, x.shape.filter((d, i) => (given.length ? !given.includes(i) : d !== 1)));
  },
  Reshape(_, [x, s]) {
    const dims = Array.from(s.data);
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return reshaped(x, dims.map((d) => (d === -1 ? size(x.shape) / known : d)));
  },
  Add: (node, [a, b]) => broadcastBinary(node, a, b, (x, y) => x + y),
  AddV2: (node, [a, b]) => broadcastBinary(node, a, b, (x, y) => x + y),
  Sub: (node, [a, b]) => broadcastBinary(node, a, b, (x, y) => x - y),
  Mul: (node, [a, b]) => broadcastBinary(node, a, b, (x, y) => x * y),
  RealDiv: (node, [a, b]) => broadcastBinary(node, a, b, (x, y) => x / y),
  BiasAdd: (node, [a, b]) => broadcastBinary(node, a, b, (x, y) => x + y),
  Relu: (_, [x]) => ({ shape: x.shape, data: x.data.map(relu) }),
  Relu6: (_, [x]) => ({ shape: x.shape, data: x.data.map(relu6) }),
  Conv2D: (node, inputs) => conv(node, inputs, false),
  _FusedConv2D: (node, inputs) => conv(node, inputs, false),
  DepthwiseConv2dNative: (node, inputs) => conv(node, inputs, true),
  FusedDepthwiseConv2dNative: (node, inputs) => conv(node, inputs, true),
  ResizeBilinear: resizeBilinear,
};

/**
 * Evaluates the tensors `outputs` depend on, in float64.
 *
 * @param nodes The graph's nodes.
 * @param constants Every `Const` node's value by name.
 * @param feeds Each `Placeholder`'s values and shape, by node name.
 * @param outputs The nodes to evaluate (output 0 of each).
 * @returns Their values, in the order asked for.
 * @throws {Error} Naming the node, for an op or attribute outside the list above.
 *
 * @example
 * ```ts
 * import { evaluateTfjsGraphFloat64 } from "./tfjs_graph_float64.ts";
 * const nodes = [
 *   { name: "x", op: "Placeholder" },
 *   { name: "y", op: "Relu6", input: ["x"] },
 * ];
 * const feeds = { x: { shape: [3], data: Float64Array.of(-1, 2, 9) } };
 * const [y] = evaluateTfjsGraphFloat64(nodes, new Map(), feeds, ["y"]);
 * console.log(y.data); // Float64Array(3) [ 0, 2, 6 ]
 * ```
 */
export function evaluateTfjsGraphFloat64(
  nodes: readonly TfjsGraphNode[],
  constants: ReadonlyMap<string, TfjsConstant>,
  feeds: Readonly<Record<string, Float64Tensor>>,
  outputs: readonly string[],
): Float64Tensor[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const values = new Map<string, Float64Tensor>();
  const evaluate = (name: string): Float64Tensor => {
    // Iterative post-order, so deep graphs do not overflow the stack.
    const stack = [name];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const node = byName.get(top);
      if (node === undefined) throw new Error(`float64 evaluation: no node ${top}`);
      const inputs = (node.input ?? []).filter((i) => !i.startsWith("^")).map((i) => {
        if ((/:(\d+)$/.exec(i)?.[1] ?? "0") !== "0") fail(node, `input ${i}: only output 0`);
        return i.replace(/:0$/, "");
      });
      const missing = inputs.filter((i) => !values.has(i));
      if (missing.length > 0) {
        stack.push(...missing);
        continue;
      }
      stack.pop();
      if (values.has(top)) continue;
      let value: Float64Tensor;
      if (node.op === "Placeholder") {
        value = feeds[top] ?? fail(node, "no feed given");
      } else if (node.op === "Const") {
        const c = constants.get(top) ?? fail(node, "no value");
        value = { shape: c.shape, data: Float64Array.from(c.values) };
      } else {
        const op = Object.hasOwn(OPS, node.op) ? OPS[node.op] : fail(node, "op not supported");
        value = op(node, inputs.map((i) => values.get(i)!));
      }
      values.set(top, value);
    }
    return values.get(name)!;
  };
  return outputs.map(evaluate);
}
