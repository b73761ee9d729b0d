/**
 * The convolution handlers of the TF.js → ONNX converter: `Conv2D`, `DepthwiseConv2dNative` and
 * their fused forms, as ONNX `Conv` in NCHW with explicit pads (TF SAME from
 * {@linkcode tfSamePads}, VALID, or EXPLICIT), the filter transposed inside the graph.
 *
 * @module
 */

import { tfSamePads } from "./onnx_graph.ts";
import {
  attrInt,
  attrInts,
  attrString,
  attrStrings,
  type Handler,
  nchwValue,
  relu6,
  type TfOpContext,
} from "./_tfjs_onnx_context.ts";

/**
 * `Conv2D`, `DepthwiseConv2dNative` and their fused forms (`_FusedConv2D`,
 * `FusedDepthwiseConv2dNative` with `fused_ops` [] / [BiasAdd] / [BiasAdd, Relu | Relu6]).
 */
export function conv(depthwise: boolean, fused: boolean): Handler {
  return (ctx: TfOpContext) => {
    const x = ctx.input(0);
    const filter = ctx.constant(ctx.input(1), "the filter");
    if (x.shape.length !== 4 || filter.shape.length !== 4) {
      ctx.fail(`input [${x.shape}] and filter [${filter.shape}] must both be 4-D`);
    }
    if (x.dtype !== "float32") ctx.fail(`input is ${x.dtype}, not float32`);
    if (attrString(ctx, "data_format", "NHWC") !== "NHWC") ctx.fail("data_format is not NHWC");
    const [n, h, w, c] = x.shape;
    const [kh, kw, fc, fm] = filter.shape;
    const strides = attrInts(ctx, "strides");
    const dilations = attrInts(ctx, "dilations", [1, 1, 1, 1]);
    if (strides[0] !== 1 || strides[3] !== 1 || dilations[0] !== 1 || dilations[3] !== 1) {
      ctx.fail(`strides [${strides}] / dilations [${dilations}] act on batch or channels`);
    }
    const [sh, sw] = [strides[1], strides[2]];
    const [dh, dw] = [dilations[1], dilations[2]];
    if (depthwise ? fc !== c : c % fc !== 0) {
      ctx.fail(`filter [${filter.shape}] does not fit ${c} input channels`);
    }
    const group = depthwise ? c : c / fc;
    const cout = depthwise ? c * fm : fm;

    let pads: [number, number, number, number]; // top, left, bottom, right
    const padding = attrString(ctx, "padding");
    if (padding === "SAME") {
      const [top, bottom] = tfSamePads(h, kh, sh, dh);
      const [left, right] = tfSamePads(w, kw, sw, dw);
      pads = [top, left, bottom, right];
    } else if (padding === "VALID") {
      pads = [0, 0, 0, 0];
    } else if (padding === "EXPLICIT") {
      const p = attrInts(ctx, "explicit_paddings");
      if (p.length !== 8 || p[0] || p[1] || p[6] || p[7]) {
        ctx.fail(`explicit_paddings [${p}] must pad only H and W`);
      }
      pads = [p[2], p[4], p[3], p[5]];
    } else {
      ctx.fail(`padding ${padding} is not supported`);
    }
    const outSize = (
      size: number,
      k: number,
      s: number,
      d: number,
      before: number,
      after: number,
    ) => Math.floor((size + before + after - (k - 1) * d - 1) / s) + 1;
    const ho = outSize(h, kh, sh, dh, pads[0], pads[2]);
    const wo = outSize(w, kw, sw, dw, pads[1], pads[3]);
    if (!(ho >= 1 && wo >= 1)) ctx.fail(`input [${x.shape}] is smaller than the kernel`);

    // TF [kh,kw,cin/group,cout] → ONNX [cout,cin/group,kh,kw]; depthwise TF [kh,kw,c,m] →
    // [c,m,kh,kw] → ONNX [c·m,1,kh,kw] (output channel c·m + j, as TF orders them).
    const g = ctx.graph;
    let weights = g.node("Transpose", [ctx.tf(ctx.input(1))], {
      perm: { ints: depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1] },
    })[0];
    if (depthwise && fm !== 1) {
      weights = g.node("Reshape", [weights, ctx.int64([c * fm, 1, kh, kw])])[0];
    }
    const inputs = [ctx.nchw(x), weights];
    let activation: string | undefined;
    if (fused) {
      const ops = attrStrings(ctx, "fused_ops");
      const numArgs = attrInt(ctx, "num_args", 0);
      let rest = ops;
      if (ops[0] === "BiasAdd") {
        if (numArgs !== 1) ctx.fail(`BiasAdd with num_args ${numArgs}`);
        const bias = ctx.constant(ctx.input(2), "the bias");
        if (bias.values.length !== cout) {
          ctx.fail(`bias has ${bias.values.length} values for ${cout} channels`);
        }
        inputs.push(g.tensor(bias.values, [cout]));
        rest = ops.slice(1);
      } else if (numArgs !== 0 || ops.length > 0) {
        ctx.fail(`fused ops [${ops}] are not supported (BiasAdd first)`);
      }
      if (rest.length > 1 || (rest.length === 1 && rest[0] !== "Relu" && rest[0] !== "Relu6")) {
        ctx.fail(`fused ops [${ops}] are not supported ([BiasAdd] plus at most Relu or Relu6)`);
      }
      activation = rest[0];
    }
    let y = g.node("Conv", inputs, {
      dilations: { ints: [dh, dw] },
      group: { int: group },
      kernel_shape: { ints: [kh, kw] },
      pads: { ints: pads },
      strides: { ints: [sh, sw] },
    })[0];
    if (activation === "Relu") y = g.node("Relu", [y])[0];
    if (activation === "Relu6") y = relu6(ctx, y);
    return [nchwValue("float32", [n, ho, wo, cout], y)];
  };
}
