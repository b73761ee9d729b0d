/**
 * Builds ONNX graphs in TypeScript (with `onnx-proto`) that compute what the WGSL kernels compute,
 * so ONNX Runtime can serve as the independent reference. Tensors enter and leave in NHWC; the
 * graph transposes to ONNX's NCHW around the convolutions, and filters are given in TF layout and
 * transposed inside the graph. Besides `Conv` (with `Relu` or `Clip(0, 6)`), it has `Add` and the
 * 2x `Resize` (linear, half-pixel) of MoveNet's feature pyramid.
 *
 * @module
 */

import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

/** `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;
/** `AttributeProto.AttributeType.FLOAT`, `INT`, `STRING` and `INTS`. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

/** ONNX `TensorProto.DataType` codes of the element types the references use. */
export const ONNX_DTYPE: { readonly float32: 1; readonly int32: 6; readonly int64: 7 } = Object
  .freeze({ float32: 1, int32: 6, int64: 7 });

/** An element type name of {@linkcode ONNX_DTYPE}. */
export type OnnxDtype = keyof typeof ONNX_DTYPE;

/** One attribute value of a generic node ({@linkcode OnnxGraphBuilder.node}), tagged by kind. */
export type OnnxAttribute =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly string: string };

/**
 * TF "SAME" pads of one axis, written out here from TensorFlow's definition so the reference does
 * not share the kernels' padding code (`kernels/same_padding.ts`): out = ceil(in / s),
 * total = max((out − 1)·s + (k − 1)·d + 1 − in, 0), and the odd pixel goes after.
 *
 * @param size Input size along the axis.
 * @param k Kernel size.
 * @param s Stride.
 * @param d Dilation.
 * @returns `[before, after]`.
 */
export function tfSamePads(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [total >> 1, total - (total >> 1)];
}

/** Options of one convolution node. */
export interface OnnxConvOptions {
  /** Stride, both axes. */
  readonly stride: number;
  /** Dilation, both axes. */
  readonly dilation: number;
  /** Explicit pads `[top, left, bottom, right]`. */
  readonly pads: readonly [number, number, number, number];
  /** True for a depthwise conv (`group = channels`, TF filter `[kh,kw,c,1]`). */
  readonly depthwise: boolean;
  /** Follow with nothing, `Relu`, or `Clip(0, 6)`. */
  readonly activation: "none" | "relu" | "relu6";
}

/** A graph under construction; values flowing between nodes are named by strings. */
export class OnnxGraphBuilder {
  #nodes: unknown[] = [];
  #initializers: unknown[] = [];
  #inputs: unknown[] = [];
  #outputs: unknown[] = [];
  #counter = 0;

  /** A fresh value name. */
  #name(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /**
   * Adds a float32 graph input in NHWC and returns the name of its NCHW view.
   *
   * @param name Input name used when running the session.
   * @param shape NHWC shape; use -1 for a free dimension.
   * @returns The NCHW value name.
   */
  inputNhwc(name: string, shape: readonly number[]): string {
    this.#inputs.push(valueInfo(name, shape));
    return this.#transpose(name, [0, 3, 1, 2]);
  }

  /**
   * Marks an NCHW value as a graph output, transposed back to NHWC.
   *
   * @param value NCHW value name.
   * @param name Output name.
   */
  outputNhwc(value: string, name: string): void {
    this.#nodes.push(
      onnx.NodeProto.create({
        opType: "Transpose",
        input: [value],
        output: [name],
        attribute: [ints("perm", [0, 2, 3, 1])],
      }),
    );
    this.#outputs.push(valueInfo(name, [-1, -1, -1, -1]));
  }

  /**
   * Adds a convolution (+ optional Relu or ReLU6) taking the filter in TF layout.
   *
   * @param x NCHW input value.
   * @param filter TF filter values (`[kh,kw,cin,cout]`, or `[kh,kw,c,1]` for depthwise).
   * @param filterShape TF filter shape.
   * @param bias Bias values, or null for a conv without bias (ONNX's optional `B` left out).
   * @param options Stride, dilation, pads, depthwise, activation.
   * @returns The NCHW output value.
   */
  conv(
    x: string,
    filter: Float32Array,
    filterShape: readonly [number, number, number, number],
    bias: Float32Array | null,
    options: OnnxConvOptions,
  ): string {
    const [kh, kw, cin] = filterShape;
    const w = this.#constant(filter, filterShape);
    // TF [kh,kw,cin,cout] → ONNX [cout,cin,kh,kw]; depthwise TF [kh,kw,c,1] → ONNX [c,1,kh,kw].
    const wOnnx = this.#transpose(w, options.depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
    const y = this.#name("conv");
    const [top, left, bottom, right] = options.pads;
    this.#nodes.push(onnx.NodeProto.create({
      opType: "Conv",
      input: bias === null ? [x, wOnnx] : [x, wOnnx, this.#constant(bias, [bias.length])],
      output: [y],
      attribute: [
        ints("dilations", [options.dilation, options.dilation]),
        int("group", options.depthwise ? cin : 1),
        ints("kernel_shape", [kh, kw]),
        ints("pads", [top, left, bottom, right]),
        ints("strides", [options.stride, options.stride]),
      ],
    }));
    if (options.activation === "none") return y;
    if (options.activation === "relu") return this.#unary("Relu", y);
    const clipped = this.#name("relu6");
    this.#nodes.push(onnx.NodeProto.create({
      opType: "Clip",
      input: [
        y,
        this.#constant(new Float32Array([0]), []),
        this.#constant(new Float32Array([6]), []),
      ],
      output: [clipped],
    }));
    return clipped;
  }

  /**
   * Adds `a + b` (ONNX `Add`, same shapes).
   *
   * @param a NCHW value.
   * @param b NCHW value.
   * @returns The NCHW sum.
   */
  add(a: string, b: string): string {
    const y = this.#name("add");
    this.#nodes.push(onnx.NodeProto.create({ opType: "Add", input: [a, b], output: [y] }));
    return y;
  }

  /**
   * Adds a 2x bilinear upsampling of the height and width: ONNX `Resize` with scales
   * `[1, 1, 2, 2]`, `mode = linear` and `coordinate_transformation_mode = half_pixel`, i.e. source
   * coordinate `(x + 0.5) / 2 − 0.5`, as TF's `ResizeBilinear` with `half_pixel_centers`.
   *
   * @param x NCHW value.
   * @returns The NCHW upsampled value.
   */
  resize2x(x: string): string {
    const y = this.#name("resize");
    this.#nodes.push(onnx.NodeProto.create({
      opType: "Resize",
      input: [x, "", this.#constant(new Float32Array([1, 1, 2, 2]), [4])],
      output: [y],
      attribute: [
        string("coordinate_transformation_mode", "half_pixel"),
        string("mode", "linear"),
      ],
    }));
    return y;
  }

  /**
   * Adds a graph input of any element type, used as it is (no transpose).
   *
   * @param name Input name used when running the session.
   * @param dtype Element type.
   * @param shape Shape; use -1 for a free dimension.
   * @returns The input's value name (`name`).
   */
  input(name: string, dtype: OnnxDtype, shape: readonly number[]): string {
    this.#inputs.push(valueInfo(name, shape, ONNX_DTYPE[dtype]));
    return name;
  }

  /**
   * Marks a value as a graph output under `name`, as it is (through an `Identity` node).
   *
   * @param value Value name.
   * @param name Output name.
   * @param dtype Element type.
   * @param shape Shape; use -1 for a free dimension.
   */
  output(value: string, name: string, dtype: OnnxDtype, shape: readonly number[]): void {
    this.#nodes.push(onnx.NodeProto.create({ opType: "Identity", input: [value], output: [name] }));
    this.#outputs.push(valueInfo(name, shape, ONNX_DTYPE[dtype]));
  }

  /**
   * Adds a constant tensor (an initializer).
   *
   * @param values Values, row-major; the array type gives the element type.
   * @param dims Shape (`[]` for a scalar).
   * @returns The constant's value name.
   */
  tensor(values: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]): string {
    const dtype = values instanceof Float32Array
      ? "float32"
      : values instanceof Int32Array
      ? "int32"
      : "int64";
    const name = this.#name("const");
    this.#initializers.push(onnx.TensorProto.create({
      name,
      dataType: ONNX_DTYPE[dtype],
      dims: [...dims],
      rawData: new Uint8Array(
        values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
      ),
    }));
    return name;
  }

  /**
   * Adds one node of any ONNX operator (default domain).
   *
   * @param opType Operator, e.g. `"Resize"`.
   * @param inputs Input value names (`""` for an omitted optional input).
   * @param attributes Attributes by name.
   * @param outputCount Number of outputs.
   * @returns The output value names (fresh).
   */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, OnnxAttribute>> = {},
    outputCount = 1,
  ): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.#name(opType.toLowerCase()));
    this.#nodes.push(onnx.NodeProto.create({
      opType,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, a]) => attribute(name, a)),
    }));
    return outputs;
  }

  /**
   * Serialises the graph as an ONNX model (opset 17).
   *
   * @returns The model bytes.
   */
  build(): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: "reference",
      node: this.#nodes,
      initializer: this.#initializers,
      input: this.#inputs,
      output: this.#outputs,
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "posenet-webgpu reference",
      opsetImport: [{ domain: "", version: 17 }],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }

  #constant(values: Float32Array, dims: readonly number[]): string {
    const name = this.#name("const");
    this.#initializers.push(onnx.TensorProto.create({
      name,
      dataType: FLOAT,
      dims: [...dims],
      rawData: new Uint8Array(
        values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
      ),
    }));
    return name;
  }

  #unary(opType: string, x: string): string {
    const y = this.#name(opType.toLowerCase());
    this.#nodes.push(onnx.NodeProto.create({ opType, input: [x], output: [y] }));
    return y;
  }

  #transpose(x: string, perm: number[]): string {
    const y = this.#name("transpose");
    this.#nodes.push(
      onnx.NodeProto.create({
        opType: "Transpose",
        input: [x],
        output: [y],
        attribute: [ints("perm", perm)],
      }),
    );
    return y;
  }
}

function valueInfo(name: string, shape: readonly number[], elemType: number = FLOAT): unknown {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: shape.map((d, i) => (d < 0 ? { dimParam: `${name}_d${i}` } : { dimValue: d })),
        },
      },
    },
  });
}

function ints(name: string, values: number[]): unknown {
  return onnx.AttributeProto.create({ name, type: ATTR_INTS, ints: values });
}

function int(name: string, value: number): unknown {
  return onnx.AttributeProto.create({ name, type: ATTR_INT, i: value });
}

function string(name: string, value: string): unknown {
  return onnx.AttributeProto.create({
    name,
    type: ATTR_STRING,
    s: new TextEncoder().encode(value),
  });
}

function attribute(name: string, a: OnnxAttribute): unknown {
  if ("int" in a) return int(name, a.int);
  if ("ints" in a) return ints(name, [...a.ints]);
  if ("float" in a) return onnx.AttributeProto.create({ name, type: ATTR_FLOAT, f: a.float });
  return onnx.AttributeProto.create({
    name,
    type: ATTR_STRING,
    s: new TextEncoder().encode(a.string),
  });
}
