/**
 * The `pose` command line's arguments: {@linkcode parsePoseArgs} tokenises them with `parseArgs`
 * from `node:util` and turns the tokens into {@linkcode PoseCliOptions}.
 *
 * The rules behind the values are the library's: the output strides and valid resolutions come
 * from `models/architecture.ts` (`isOutputStride`) and `models/input_resolution.ts`
 * (`minInputResolution`, `nearestValidResolutions`), the WebGPU providers (and that message) from
 * `runtime/webgpu_provider.ts`, the model names from `_model.ts`. What is checked here, before any
 * model is loaded, is what a command line can get wrong: the syntax of each value, options that
 * need another or do not apply to the chosen model, and the CLI's own caps (`MAX_INPUT_RESOLUTION`,
 * `MAX_DETECTIONS_LIMIT` in `_usage.ts`). Each message names the option, and a mistake is a
 * {@linkcode UsageError} (exit code 2).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { errorText } from "../_describe.ts";
import { InvalidInputError } from "../errors.ts";
import { isOutputStride, type OutputStride } from "../models/architecture.ts";
import { minInputResolution, nearestValidResolutions } from "../models/input_resolution.ts";
import { resolveWebGpuProvider, type WebGpuProvider } from "../runtime/webgpu_provider.ts";
import type { InputResolution } from "../detectors/posenet_model.ts";
import { DEFAULT_MIN_SCORE } from "./draw_overlay.ts";
import { POSE_CLI_MODELS, type PoseCliModelName } from "./_model.ts";
import {
  DEFAULT_RESOLUTION,
  DEFAULT_STRIDE,
  MAX_DETECTIONS_LIMIT,
  MAX_INPUT_RESOLUTION,
  OUTPUT_STRIDES_TEXT,
} from "./_usage.ts";

/**
 * Parsed command-line options.
 *
 * @example
 * ```ts
 * import { parsePoseArgs, type PoseCliOptions } from "./pose.ts";
 *
 * const options = parsePoseArgs(["group.jpg", "--multi", "--out", "o.png"]) as PoseCliOptions;
 * console.log(options.model, options.multi, options.out, options.resolution); // "posenet" true "o.png" 257
 * ```
 */
export interface PoseCliOptions {
  /** The image path. */
  image: string;
  /** The model (`--model`; a PoseNet model.json path or URL gives `"posenet"`). */
  model: PoseCliModelName;
  /** Whether `--model` was given, by name or path. */
  modelGiven: boolean;
  /** Custom weights: `--model-url`, or the PoseNet model.json path or URL given as `--model`. */
  modelUrl?: string;
  /** PoseNet: input resolution (default 257); absent for MoveNet. */
  resolution?: number | InputResolution;
  /** PoseNet: output stride (default 16); absent for MoveNet. */
  stride?: OutputStride;
  /** Mirror the keypoints horizontally. */
  flip: boolean;
  /** PoseNet: multi-pose estimation. */
  multi: boolean;
  /** Multi-pose: most poses. */
  maxDetections?: number;
  /** Multi-pose: least root score. */
  scoreThreshold?: number;
  /** Multi-pose: NMS radius in pixels. */
  nmsRadius?: number;
  /** Overlay PNG path. */
  out?: string;
  /** Overlay: least keypoint score drawn. */
  minScore: number;
  /** WebGPU provider (`--webgpu`); absent: `$POSENET_WEBGPU`, else Deno's own. */
  webgpu?: WebGpuProvider;
}

/**
 * A command-line mistake: exit code 2.
 *
 * @example
 * ```ts
 * import { errorLine, parsePoseArgs, UsageError } from "./pose.ts";
 *
 * try {
 *   parsePoseArgs(["photo.jpg", "--stride", "12"]);
 * } catch (err) {
 *   console.log(err instanceof UsageError, errorLine(err));
 * }
 * ```
 */
export class UsageError extends InvalidInputError {}

/** Every option, as `parseArgs` takes them. */
const OPTIONS = {
  "model": { type: "string" },
  "model-url": { type: "string" },
  "resolution": { type: "string" },
  "stride": { type: "string" },
  "flip": { type: "boolean" },
  "multi": { type: "boolean" },
  "max-detections": { type: "string" },
  "score-threshold": { type: "string" },
  "nms-radius": { type: "string" },
  "out": { type: "string" },
  "min-score": { type: "string" },
  "webgpu": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const;
type OptionName = keyof typeof OPTIONS;

/** Options that only PoseNet has: a usage error with MoveNet. */
const POSENET_ONLY: readonly OptionName[] = [
  "resolution",
  "stride",
  "multi",
  "max-detections",
  "score-threshold",
  "nms-radius",
];
const MULTI_ONLY: readonly OptionName[] = ["max-detections", "score-threshold", "nms-radius"];

/**
 * An integer option's value, checked against `[min, max]`.
 *
 * @param option The option, e.g. `--stride`, named in the message.
 * @param text Its text.
 * @param min Least value.
 * @param max Greatest value.
 * @returns The integer.
 * @throws {UsageError} When it is not an integer or out of range.
 *
 * @example
 * ```ts
 * import { parseInteger } from "./_args.ts";
 * console.log(parseInteger("--in-flight", "4", 1, 16)); // 4
 * ```
 */
export function parseInteger(option: string, text: string, min: number, max: number): number {
  const value = /^[+]?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${option} must be an integer, got ${JSON.stringify(text)}`);
  }
  if (value < min || value > max) {
    throw new UsageError(`${option} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * A number option's value, checked by `check`.
 *
 * @param option The option, named in the message.
 * @param text Its text.
 * @param check Whether the value is in range.
 * @param range The range in words, for the message.
 * @returns The number.
 * @throws {UsageError} When it is not a finite number or fails `check`.
 *
 * @example
 * ```ts
 * import { parseNumber } from "./_args.ts";
 * console.log(parseNumber("--min-score", "0.3", (v) => v >= 0 && v <= 1, "between 0 and 1")); // 0.3
 * ```
 */
export function parseNumber(
  option: string,
  text: string,
  check: (value: number) => boolean,
  range: string,
): number {
  const trimmed = text.trim();
  const value = trimmed === "" ? NaN : Number(trimmed);
  if (!Number.isFinite(value)) {
    throw new UsageError(`${option} must be a number, got ${JSON.stringify(text)}`);
  }
  if (!check(value)) throw new UsageError(`${option} must be ${range}, got ${value}`);
  return value;
}

function parseStride(text: string): OutputStride {
  const stride = parseInteger("--stride", text, 1, Number.MAX_SAFE_INTEGER);
  if (!isOutputStride(stride)) {
    throw new UsageError(`--stride must be ${OUTPUT_STRIDES_TEXT}, got ${stride}`);
  }
  return stride;
}

/** `R` or `WxH`, each side in range and valid at `stride` by the library's rule. */
function parseResolution(text: string, stride: OutputStride): number | InputResolution {
  const parts = text.trim().toLowerCase().split("x");
  if (parts.length > 2) {
    throw new UsageError(`--resolution must be R or WxH, got ${JSON.stringify(text)}`);
  }
  const min = minInputResolution(stride);
  const sizes = parts.map((p) => parseInteger("--resolution", p, min, MAX_INPUT_RESOLUTION));
  const axes = sizes.length === 1 ? [""] : ["width ", "height "];
  sizes.forEach((size, i) => {
    const { below, above } = nearestValidResolutions(size, stride);
    if (above === size) return;
    const nearest = below === undefined ? `${above}` : `${below} or ${above}`;
    throw new UsageError(
      `--resolution ${axes[i]}${size} is not valid with --stride ${stride}: (R - 1) must be a ` +
        `multiple of ${stride} (nearest: ${nearest})`,
    );
  });
  const [width, height = width] = sizes;
  return width === height ? width : { width, height };
}

/**
 * `--webgpu`'s value: a provider name, checked by the library's rule.
 *
 * @param text The value.
 * @returns The provider.
 * @throws {UsageError} For an unknown provider.
 *
 * @example
 * ```ts
 * import { parseWebGpuOption } from "./_args.ts";
 * console.log(parseWebGpuOption("dawn")); // "dawn"
 * ```
 */
export function parseWebGpuOption(text: string): WebGpuProvider {
  try {
    return resolveWebGpuProvider(text);
  } catch (err) {
    throw new UsageError(`--webgpu: ${errorText(err)}`);
  }
}

type Values = Partial<Record<OptionName, string | boolean>>;

/** `--model` (a name, else a PoseNet model.json path or URL) and `--model-url`. */
function parseModelOptions(
  values: Values,
): Pick<PoseCliOptions, "model" | "modelGiven" | "modelUrl"> {
  const text = values.model as string | undefined;
  const url = values["model-url"] as string | undefined;
  if (url === "") throw new UsageError("--model-url needs a path or URL");
  if (text === undefined) return { model: POSE_CLI_MODELS[0], modelGiven: false, modelUrl: url };
  const names = POSE_CLI_MODELS.join(", ");
  if ((POSE_CLI_MODELS as readonly string[]).includes(text)) {
    return { model: text as PoseCliModelName, modelGiven: true, modelUrl: url };
  }
  if (text === "") {
    throw new UsageError(`--model needs a path or URL of a model.json, or a model name: ${names}`);
  }
  if (!/[/\\]/.test(text) && !/\.json$/i.test(text) && !/^[a-z][a-z0-9+.-]*:/i.test(text)) {
    throw new UsageError(
      `--model ${JSON.stringify(text)} is neither a model (${names}) nor a path or URL of a ` +
        `model.json`,
    );
  }
  if (url !== undefined) {
    throw new UsageError(
      `--model-url needs a model name for --model, not a path: --model ${text} already gives ` +
        `the weights`,
    );
  }
  return { model: "posenet", modelGiven: true, modelUrl: text };
}

/**
 * Tokenises with `parseArgs` against an option table; checks names, values and repeats in order.
 *
 * @param args The arguments.
 * @param options The options, as `parseArgs` takes them (with a boolean `help`).
 * @returns The values by option name and the positionals, or `"help"` at `--help` / `-h`.
 * @throws {UsageError} For an unknown or repeated option, a value given to a flag or missing.
 *
 * @example
 * ```ts
 * import { tokenise } from "./_args.ts";
 * const options = { out: { type: "string" }, help: { type: "boolean", short: "h" } } as const;
 * console.log(tokenise(["a.mp4", "--out", "o.mp4"], options)); // { values: { out: "o.mp4" }, positionals: ["a.mp4"] }
 * ```
 */
export function tokenise<O extends Record<string, { type: "string" | "boolean"; short?: string }>>(
  args: readonly string[],
  options: O,
): { values: Partial<Record<keyof O, string | boolean>>; positionals: string[] } | "help" {
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false, // strict mode refuses values that start with "-", e.g. `--stride -8`
    allowPositionals: true,
    tokens: true,
  });
  const values: Partial<Record<keyof O, string | boolean>> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const { name, rawName, value } = token;
    if (!Object.hasOwn(options, name)) {
      throw new UsageError(`unknown option ${rawName} (see --help)`);
    }
    const option = name as keyof O;
    if (option === "help") return "help";
    const flag = `--${name}`;
    if (options[option].type === "boolean" && value !== undefined) {
      throw new UsageError(`${flag} takes no value`);
    }
    if (options[option].type === "string" && value === undefined) {
      throw new UsageError(`${flag} needs a value`);
    }
    if (values[option] !== undefined) throw new UsageError(`${flag} is given twice`);
    values[option] = value ?? true;
  }
  return { values, positionals };
}

/**
 * Parses and checks the command line (everything after the program name).
 *
 * @param args The arguments.
 * @returns The options, or `"help"` when `--help` / `-h` was given.
 * @throws {UsageError} For an unknown or repeated option, a missing or malformed value, a value
 *   out of range, a multi-pose option without `--multi`, a PoseNet-only option with a MoveNet
 *   model, or a missing or extra image argument. The message names the option.
 *
 * @example
 * ```ts
 * import { parsePoseArgs } from "./pose.ts";
 *
 * console.log(parsePoseArgs(["photo.jpg", "--resolution", "513", "--flip"]));
 * console.log(parsePoseArgs(["photo.jpg", "--model", "movenet-lightning"]));
 * console.log(parsePoseArgs(["--help"])); // "help"
 * ```
 */
export function parsePoseArgs(args: readonly string[]): PoseCliOptions | "help" {
  const parsed = tokenise(args, OPTIONS);
  if (parsed === "help") return "help";
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    throw new UsageError("missing the image argument (usage: pose <image.jpg|png> [options])");
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one image, got ${positionals.length}: ${
        positionals.map((p) => JSON.stringify(p)).join(" ")
      }`,
    );
  }
  const image = positionals[0];
  if (image === "") throw new UsageError("the image path is empty");
  const text = (option: OptionName) => values[option] as string | undefined;

  const { model, modelGiven, modelUrl } = parseModelOptions(values);
  if (model !== "posenet") {
    const stray = POSENET_ONLY.find((option) => values[option] !== undefined);
    if (stray !== undefined) {
      throw new UsageError(`--${stray} does not apply to --model ${model} (PoseNet only)`);
    }
  }

  const stride = values.stride === undefined ? DEFAULT_STRIDE : parseStride(text("stride")!);
  const resolutionText = text("resolution");
  const resolution = resolutionText === undefined
    ? DEFAULT_RESOLUTION
    : parseResolution(resolutionText, stride);

  const multi = values.multi === true;
  for (const option of MULTI_ONLY) {
    if (values[option] !== undefined && !multi) throw new UsageError(`--${option} needs --multi`);
  }
  const maxDetectionsText = text("max-detections");
  const scoreThresholdText = text("score-threshold");
  const nmsRadiusText = text("nms-radius");
  const minScoreText = text("min-score");
  const out = text("out");
  if (out === "") throw new UsageError("--out needs a file path");
  if (minScoreText !== undefined && out === undefined) {
    throw new UsageError("--min-score needs --out");
  }
  const webgpuText = text("webgpu");
  const webgpu = webgpuText === undefined ? undefined : parseWebGpuOption(webgpuText);
  const unit = (v: number) => v >= 0 && v <= 1;
  return {
    image,
    model,
    modelGiven,
    ...(modelUrl === undefined ? {} : { modelUrl }),
    ...(model === "posenet" ? { resolution, stride } : {}),
    flip: values.flip === true,
    multi,
    maxDetections: maxDetectionsText === undefined
      ? undefined
      : parseInteger("--max-detections", maxDetectionsText, 1, MAX_DETECTIONS_LIMIT),
    scoreThreshold: scoreThresholdText === undefined
      ? undefined
      : parseNumber("--score-threshold", scoreThresholdText, unit, "between 0 and 1"),
    nmsRadius: nmsRadiusText === undefined
      ? undefined
      : parseNumber("--nms-radius", nmsRadiusText, (v) => v > 0, "positive"),
    out,
    minScore: minScoreText === undefined
      ? DEFAULT_MIN_SCORE
      : parseNumber("--min-score", minScoreText, unit, "between 0 and 1"),
    ...(webgpu === undefined ? {} : { webgpu }),
  };
}
