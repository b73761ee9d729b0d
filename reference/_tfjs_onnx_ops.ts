/**
 * The op table of the TF.js → ONNX converter (`tfjs_to_onnx.ts`): for each supported TF op, how
 * its node becomes ONNX nodes, with its output shapes inferred statically. Conv, depthwise conv
 * and resize work in NCHW (see the converter's module doc); the rest in TF's layout, except
 * element-wise ops, which stay in NCHW when their non-scalar operands already are.
 *
 * @module
 */

import { ONNX_DTYPE } from "./onnx_graph.ts";
import {
  attr,
  attrBool,
  attrInt,
  attrInts,
  attrString,
  axisOf,
  binary,
  constInts,
  dtypeOf,
  elementwise,
  type Handler,
  nchwValue,
  relu6,
  size,
  type TfOpContext,
  type TfValue,
  tfValue,
  unary,
} from "./_tfjs_onnx_context.ts";
import { conv } from "./_tfjs_onnx_conv.ts";

export type { TfOpContext, TfValue };

/** Handlers by TF op. */
export const TFJS_ONNX_OPS: Readonly<Record<string, Handler>> = Object.freeze({
  Placeholder(ctx: TfOpContext) {
    const dtype = dtypeOf(ctx, "dtype");
    const recorded = (attr(ctx, "shape")?.shape?.dim ?? []).map((d: { size: string }) =>
      Number(d.size)
    );
    const shape = ctx.inputShapes[ctx.node.name] ?? recorded;
    if (!shape.every((d: number) => Number.isInteger(d) && d >= 0)) {
      ctx.fail(`input shape [${shape}] is not fully known; pass it in inputShapes`);
    }
    return [tfValue(dtype, shape, ctx.graph.input(ctx.node.name, dtype, shape))];
  },
  Const(ctx: TfOpContext) {
    const constant = ctx.constants.get(ctx.node.name);
    if (constant === undefined) ctx.fail("no value in the weights manifest");
    return [{ dtype: constant.dtype, shape: constant.shape, constant }];
  },
  Identity: (ctx) => [ctx.input(0)],
  Cast(ctx) {
    const to = dtypeOf(ctx, "DstT");
    const x = ctx.input(0);
    const cast = { to: { int: ONNX_DTYPE[to] } };
    return [elementwise(ctx, [x], to, (n) => ctx.graph.node("Cast", n, cast)[0])];
  },
  Add: binary("Add"),
  AddV2: binary("Add"),
  Sub: binary("Sub"),
  Mul(ctx) {
    const [a, b] = [ctx.input(0), ctx.input(1)];
    // Shape arithmetic: two int32 constants multiply here, to a constant.
    if (a.constant && b.constant && a.dtype === "int32" && b.dtype === "int32") {
      const [x, y] = [a.constant.values, b.constant.values];
      if (x.length !== y.length && x.length !== 1 && y.length !== 1) ctx.fail("shapes differ");
      const n = Math.max(x.length, y.length);
      const values = Int32Array.from(
        { length: n },
        (_, i) => x[x.length === 1 ? 0 : i] * y[y.length === 1 ? 0 : i],
      );
      const shape = x.length >= y.length ? a.shape : b.shape;
      return [{ dtype: "int32", shape, constant: { dtype: "int32", shape, values } }];
    }
    return binary("Mul")(ctx);
  },
  // The static shape of a tensor, as a constant (the converter's shapes are all known).
  Shape(ctx) {
    const shape = Int32Array.from(ctx.input(0).shape);
    const dims = [shape.length];
    return [{
      dtype: "int32",
      shape: dims,
      constant: { dtype: "int32", shape: dims, values: shape },
    }];
  },
  // A plain 1-D slice of a constant (stride 1, no masks but shrink), folded.
  StridedSlice(ctx) {
    const x = constInts(ctx, ctx.input(0), "the sliced value");
    const [b] = constInts(ctx, ctx.input(1), "begin");
    const [e] = constInts(ctx, ctx.input(2), "end");
    const [step] = constInts(ctx, ctx.input(3), "strides");
    const masks = ["begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask"];
    if (ctx.input(0).shape.length !== 1 || step !== 1 || masks.some((m) => attrInt(ctx, m, 0))) {
      ctx.fail("only a plain 1-D slice of a constant is folded");
    }
    const shrink = (attrInt(ctx, "shrink_axis_mask", 0) & 1) === 1;
    const values = Int32Array.from(shrink ? [x[b]] : x.slice(b, e));
    const shape = shrink ? [] : [values.length];
    return [{ dtype: "int32", shape, constant: { dtype: "int32", shape, values } }];
  },
  RealDiv: binary("Div"),
  SquaredDifference(ctx) {
    const [a, b] = [ctx.input(0), ctx.input(1)];
    return [elementwise(ctx, [a, b], a.dtype, (n) => {
      const d = ctx.graph.node("Sub", n)[0];
      return ctx.graph.node("Mul", [d, d])[0];
    })];
  },
  FloorDiv(ctx) {
    const [a, b] = [ctx.input(0), ctx.input(1)];
    return [elementwise(ctx, [a, b], a.dtype, ([x, y]) => {
      const g = ctx.graph;
      if (a.dtype === "float32") return g.node("Floor", g.node("Div", [x, y]))[0];
      // Integers: floor(x / y) = (x − mod(x, y)) / y, mod taking the divisor's sign (fmod 0).
      const m = g.node("Mod", [x, y], { fmod: { int: 0 } })[0];
      return g.node("Div", [g.node("Sub", [x, m])[0], y])[0];
    })];
  },
  Relu: unary("Relu"),
  Sigmoid: unary("Sigmoid"),
  Sqrt: unary("Sqrt"),
  Relu6(ctx) {
    const x = ctx.input(0);
    return [elementwise(ctx, [x], x.dtype, ([n]) => relu6(ctx, n))];
  },
  BiasAdd(ctx) {
    const x = ctx.input(0);
    const bias = ctx.constant(ctx.input(1), "the bias");
    const c = x.shape[x.shape.length - 1];
    if (attrString(ctx, "data_format", "NHWC") !== "NHWC") ctx.fail("data_format is not NHWC");
    if (bias.values.length !== c) ctx.fail(`bias has ${bias.values.length} values for ${c}`);
    if (x.nchwName !== undefined) {
      const b = ctx.graph.tensor(bias.values, [c, 1, 1]);
      return [nchwValue(x.dtype, x.shape, ctx.graph.node("Add", [x.nchwName, b])[0])];
    }
    const b = ctx.graph.tensor(bias.values, [c]);
    return [tfValue(x.dtype, x.shape, ctx.graph.node("Add", [ctx.tf(x), b])[0])];
  },
  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  ResizeBilinear(ctx) {
    const x = ctx.input(0);
    const [oh, ow] = constInts(ctx, ctx.input(1), "the size");
    if (x.shape.length !== 4 || x.dtype !== "float32") ctx.fail("input must be 4-D float32");
    const alignCorners = attrBool(ctx, "align_corners");
    const halfPixel = attrBool(ctx, "half_pixel_centers");
    if (alignCorners && halfPixel) ctx.fail("align_corners and half_pixel_centers are both set");
    // TF: src = (dst + 0.5) · in/out − 0.5 (half_pixel_centers), dst · (in−1)/(out−1)
    // (align_corners), or dst · in/out; ONNX names the same maps half_pixel, align_corners and
    // asymmetric. Both clamp the source to the input's edge.
    const mode = halfPixel ? "half_pixel" : alignCorners ? "align_corners" : "asymmetric";
    const [n, , , c] = x.shape;
    const y = ctx.graph.node("Resize", [ctx.nchw(x), "", "", ctx.int64([n, c, oh, ow])], {
      mode: { string: "linear" },
      coordinate_transformation_mode: { string: mode },
    })[0];
    return [nchwValue("float32", [n, oh, ow, c], y)];
  },
  Reshape(ctx) {
    const x = ctx.input(0);
    const dims = constInts(ctx, ctx.input(1), "the shape");
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = dims.map((d) => (d === -1 ? size(x.shape) / known : d));
    if (size(shape) !== size(x.shape) || !shape.every(Number.isInteger)) {
      ctx.fail(`cannot reshape [${x.shape}] to [${dims}]`);
    }
    return [reshapeTo(ctx, x, shape)];
  },
  ExpandDims(ctx) {
    const x = ctx.input(0);
    const [dim] = constInts(ctx, ctx.input(1), "the axis");
    const axis = axisOf(ctx, dim, x.shape.length + 1);
    const shape = [...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)];
    const y = ctx.graph.node("Unsqueeze", [ctx.tf(x), ctx.int64([axis])])[0];
    return [tfValue(x.dtype, shape, y)];
  },
  Squeeze(ctx) {
    const x = ctx.input(0);
    const given = attrInts(ctx, "squeeze_dims", []).map((a) => axisOf(ctx, a, x.shape.length));
    const axes = given.length > 0 ? given : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    if (axes.some((a) => x.shape[a] !== 1)) ctx.fail(`cannot squeeze [${axes}] of [${x.shape}]`);
    const shape = x.shape.filter((_, i) => !axes.includes(i));
    const y = ctx.graph.node("Squeeze", [ctx.tf(x), ctx.int64(axes)])[0];
    return [tfValue(x.dtype, shape, y)];
  },
  Unpack(ctx) {
    const x = ctx.input(0);
    const axis = axisOf(ctx, attrInt(ctx, "axis", 0), x.shape.length);
    const num = attrInt(ctx, "num");
    if (x.shape[axis] !== num) ctx.fail(`cannot unstack ${num} from axis ${axis} of [${x.shape}]`);
    const shape = x.shape.filter((_, i) => i !== axis);
    const parts = num === 1 ? [ctx.tf(x)] : ctx.graph.node(
      "Split",
      [ctx.tf(x), ctx.int64(new Array(num).fill(1))],
      { axis: { int: axis } },
      num,
    );
    return parts.map((p) =>
      tfValue(x.dtype, shape, ctx.graph.node("Squeeze", [p, ctx.int64([axis])])[0])
    );
  },
  Pack(ctx) {
    const xs = ctx.inputs;
    const first = ctx.input(0);
    if (xs.some((v) => v.shape.join() !== first.shape.join() || v.dtype !== first.dtype)) {
      ctx.fail("inputs differ in shape or dtype");
    }
    const axis = axisOf(ctx, attrInt(ctx, "axis", 0), first.shape.length + 1);
    const axes = ctx.int64([axis]);
    const parts = xs.map((v) => ctx.graph.node("Unsqueeze", [ctx.tf(v), axes])[0]);
    const shape = [...first.shape.slice(0, axis), xs.length, ...first.shape.slice(axis)];
    const y = ctx.graph.node("Concat", parts, { axis: { int: axis } })[0];
    return [tfValue(first.dtype, shape, y)];
  },
  ConcatV2(ctx) {
    const xs = ctx.inputs.slice(0, -1);
    const first = ctx.input(0);
    const [a] = constInts(ctx, ctx.input(ctx.inputs.length - 1), "the axis");
    const axis = axisOf(ctx, a, first.shape.length);
    const shape = [...first.shape];
    shape[axis] = 0;
    for (const v of xs) {
      const ok = v.dtype === first.dtype && v.shape.length === shape.length &&
        v.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok) ctx.fail(`input [${v.shape}] does not concatenate with [${first.shape}]`);
      shape[axis] += v.shape[axis];
    }
    const y = ctx.graph.node("Concat", xs.map((v) => ctx.tf(v)), { axis: { int: axis } })[0];
    return [tfValue(first.dtype, shape, y)];
  },
  ArgMax(ctx) {
    const x = ctx.input(0);
    if (dtypeOf(ctx, "output_type") !== "int32") ctx.fail("output_type must be DT_INT32");
    const [a] = constInts(ctx, ctx.input(1), "the dimension");
    const axis = axisOf(ctx, a, x.shape.length);
    const g = ctx.graph;
    // TF and ONNX (select_last_index 0) both return the first index of the maximum.
    const i64 = g.node("ArgMax", [ctx.tf(x)], { axis: { int: axis }, keepdims: { int: 0 } })[0];
    const y = g.node("Cast", [i64], { to: { int: ONNX_DTYPE.int32 } })[0];
    return [tfValue("int32", x.shape.filter((_, i) => i !== axis), y)];
  },
  GatherNd(ctx) {
    const [params, indices] = [ctx.input(0), ctx.input(1)];
    if (indices.dtype !== "int32") ctx.fail("indices must be int32");
    const k = indices.shape[indices.shape.length - 1];
    if (!(k >= 1 && k <= params.shape.length)) {
      ctx.fail(`indices [${indices.shape}] do not index params [${params.shape}]`);
    }
    const g = ctx.graph;
    const i64 = g.node("Cast", [ctx.tf(indices)], { to: { int: ONNX_DTYPE.int64 } })[0];
    const y = g.node("GatherND", [ctx.tf(params), i64], { batch_dims: { int: 0 } })[0];
    const shape = [...indices.shape.slice(0, -1), ...params.shape.slice(k)];
    return [tfValue(params.dtype, shape, y)];
  },
});

/** `x` reshaped (row-major, TF's layout) to a static shape. */
function reshapeTo(ctx: TfOpContext, x: TfValue, shape: readonly number[]): TfValue {
  const y = ctx.graph.node("Reshape", [ctx.tf(x), ctx.int64(shape)])[0];
  return tfValue(x.dtype, shape, y);
}
