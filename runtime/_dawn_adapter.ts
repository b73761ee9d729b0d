/**
 * The Dawn provider: loads Dawn's Node-API addon (the npm package `webgpu`) on first use and finds
 * an adapter on it, doing the headless set-up a user would otherwise have to know about.
 *
 * - The package is imported dynamically from a specifier held in a variable, so no module graph
 *   (a JSR install, `deno cache`) downloads its 130 MB of per-platform binaries unless Dawn is
 *   asked for.
 * - Backends are tried in order until one gives an adapter. On Linux: Vulkan at WebGPU's core
 *   feature level (a real GPU), then desktop OpenGL and OpenGL ES through EGL in compatibility
 *   mode (Mesa's llvmpipe; Dawn rejects this Mesa's lavapipe, which lacks
 *   `shaderUniform*ArrayDynamicIndexing`). For the GL backends `EGL_PLATFORM=surfaceless` is set
 *   when unset, so no display server is needed.
 * - Dawn reports why a backend failed only as warnings on the process's stderr; those are captured
 *   during probing and quoted in the error when no backend works, instead of reaching the
 *   terminal of a user whose first choice simply wasn't there.
 *
 * @module
 */

import { InvalidInputError, WebGpuUnavailableError } from "../errors.ts";
import { captureNativeStderr } from "./_native_stderr.ts";
import { defaultEnv, readEnv } from "./_env.ts";

/** The npm package Dawn is loaded from, pinned. */
export const DAWN_MODULE = "npm:webgpu@0.6.2";
/** Overrides {@linkcode DAWN_MODULE}: another specifier, e.g. a `file:` URL of a local copy. */
export const DAWN_MODULE_ENV = "POSENET_DAWN_MODULE";
/** Picks the one Dawn backend to try (`vulkan`, `opengl`, `opengles`, `metal`, `d3d12`, `d3d11`). */
export const DAWN_BACKEND_ENV = "POSENET_DAWN_BACKEND";

/** Dawn backend names its `backend=` flag accepts (aliases `vk`, `gl`, `gles`, `d3d` normalised). */
export const DAWN_BACKENDS = ["vulkan", "opengl", "opengles", "metal", "d3d12", "d3d11"] as const;
/** One of {@linkcode DAWN_BACKENDS}. */
export type DawnBackend = (typeof DAWN_BACKENDS)[number];

const ALIASES: Record<string, DawnBackend> = {
  vk: "vulkan",
  gl: "opengl",
  gles: "opengles",
  d3d: "d3d12",
};

/** A WebGPU feature level. */
export type FeatureLevel = "core" | "compatibility";

/** One backend and feature level to ask Dawn for. */
interface Attempt {
  readonly backend: DawnBackend;
  readonly featureLevel: FeatureLevel;
}

/** What the Dawn provider found. */
export interface DawnAdapter {
  readonly adapter: GPUAdapter;
  readonly backend: DawnBackend;
  readonly featureLevel: FeatureLevel;
  /** The Dawn instance; kept referenced for as long as its adapter's device lives. */
  readonly instance: GPU;
}

/** Options of {@linkcode requestDawnAdapter}. */
export interface DawnAdapterOptions {
  readonly powerPreference?: GPUPowerPreference;
  /** The only backend to try; default `$POSENET_DAWN_BACKEND`, else the platform's list. */
  readonly backend?: string;
  /** Extra flags for Dawn's `create()`, e.g. `["enable-dawn-features=allow_unsafe_apis"]`. */
  readonly flags?: readonly string[];
  /** Module specifier; default `$POSENET_DAWN_MODULE`, else {@linkcode DAWN_MODULE}. */
  readonly module?: string;
}

type DawnModule = { create(flags: string[]): GPU };

const loaded = new Map<string, Promise<DawnModule>>();

/**
 * Loads Dawn and returns the first adapter it offers on the backends tried.
 *
 * @param options Backend, flags, module.
 * @returns The adapter and how it was found.
 * @throws {WebGpuUnavailableError} When the addon cannot be loaded or no backend gives an adapter;
 *   the message names the module, each backend tried with Dawn's reason, and what to do.
 */
export async function requestDawnAdapter(options: DawnAdapterOptions = {}): Promise<DawnAdapter> {
  const module = options.module ?? (readEnv(DAWN_MODULE_ENV) || DAWN_MODULE);
  const dawn = await loadDawn(module);
  const attempts = plan(options.backend ?? (readEnv(DAWN_BACKEND_ENV) || undefined));
  const tried: string[] = [];
  for (const { backend, featureLevel } of attempts) {
    let note = "";
    if (backend === "opengl" || backend === "opengles") {
      note = defaultEnv("EGL_PLATFORM", "surfaceless")
        ? ", EGL_PLATFORM=surfaceless"
        : `, EGL_PLATFORM=${readEnv("EGL_PLATFORM") ?? "(cannot be set)"}`;
    }
    const label = `${backend} (${featureLevel}${note})`;
    let adapter: GPUAdapter | null = null;
    let instance: GPU | undefined;
    let reason = "";
    try {
      const probe = captureNativeStderr(() => {
        instance = dawnInstance(dawn, [`backend=${backend}`, ...(options.flags ?? [])]);
        return instance.requestAdapter({
          featureLevel,
          powerPreference: options.powerPreference,
        } as GPURequestAdapterOptions);
      });
      reason = firstLines(probe.stderr);
      adapter = await probe.result;
    } catch (cause) {
      reason = firstLines(String((cause as Error)?.message ?? cause));
    }
    if (adapter && instance) return { adapter, backend, featureLevel, instance };
    tried.push(`${label}: ${reason || "no adapter"}`);
  }
  throw new WebGpuUnavailableError(
    `the Dawn WebGPU provider (${module}) found no adapter. Tried ${tried.join("; ")}. ` +
      howToFix(),
  );
}

const instances = new Map<string, GPU>();

/**
 * One Dawn instance per set of flags for the whole process. On the GL backends every instance
 * opens the same EGL display, and one instance's teardown (when it is collected, or at exit)
 * terminates the display under the others: two instances in one process crashed it at exit.
 */
function dawnInstance(dawn: DawnModule, flags: string[]): GPU {
  const key = JSON.stringify(flags);
  let instance = instances.get(key);
  if (instance === undefined) {
    instance = dawn.create(flags);
    instances.set(key, instance);
  }
  return instance;
}

/** The backends to try, in order. */
function plan(backend: string | undefined): Attempt[] {
  if (backend !== undefined) {
    const name = ALIASES[backend.toLowerCase()] ??
      (DAWN_BACKENDS as readonly string[]).find((b) => b === backend.toLowerCase());
    if (name === undefined) {
      throw new InvalidInputError(
        `unknown Dawn backend ${JSON.stringify(backend)}${
          readEnv(DAWN_BACKEND_ENV) === backend ? ` (from $${DAWN_BACKEND_ENV})` : ""
        }: use one of ${DAWN_BACKENDS.join(", ")}`,
      );
    }
    const b = name as DawnBackend;
    return [{ backend: b, featureLevel: "core" }, { backend: b, featureLevel: "compatibility" }];
  }
  switch (Deno.build.os) {
    case "darwin":
      return [{ backend: "metal", featureLevel: "core" }];
    case "windows":
      return [
        { backend: "d3d12", featureLevel: "core" },
        { backend: "d3d11", featureLevel: "compatibility" },
      ];
    default:
      return [
        { backend: "vulkan", featureLevel: "core" },
        { backend: "opengl", featureLevel: "compatibility" },
        { backend: "opengles", featureLevel: "compatibility" },
      ];
  }
}

function loadDawn(module: string): Promise<DawnModule> {
  let promise = loaded.get(module);
  if (promise === undefined) {
    promise = (async () => {
      if (globalThis.Deno === undefined) {
        throw new WebGpuUnavailableError(
          `the Dawn WebGPU provider runs under Deno only; in a browser use provider "deno" ` +
            "(the page's navigator.gpu)",
        );
      }
      try {
        const mod = await import(module) as Partial<DawnModule>;
        if (typeof mod.create !== "function") throw new Error("it exports no create()");
        return mod as DawnModule;
      } catch (cause) {
        throw new WebGpuUnavailableError(
          `the Dawn WebGPU provider could not be loaded from ${module}: ${
            firstLines(String((cause as Error)?.message ?? cause))
          }. Dawn needs --allow-ffi --allow-env --allow-read, and the npm package ` +
            `${
              DAWN_MODULE.slice(4)
            } (downloaded once from the npm registry, or a local copy named ` +
            `by $${DAWN_MODULE_ENV}); or use Deno's built-in WebGPU (provider "deno").`,
          { cause },
        );
      }
    })();
    loaded.set(module, promise);
    promise.catch(() => loaded.delete(module));
  }
  return promise;
}

function howToFix(): string {
  return Deno.build.os === "linux"
    ? "On Linux without a GPU, Dawn runs on Mesa's llvmpipe through EGL: " +
      "`apt-get install -y libegl-dev libegl-mesa0 libgl1-mesa-dri` (Dawn loads `libEGL.so`). With a GPU, install its Vulkan " +
      `driver and the loader (libvulkan1), or name a backend with $${DAWN_BACKEND_ENV}. ` +
      'Deno\'s built-in WebGPU (provider "deno") is the other choice.'
    : `Name another backend with $${DAWN_BACKEND_ENV}, or use Deno's built-in WebGPU ` +
      '(provider "deno").';
}

/** The first meaningful lines of a native message, on one line. */
function firstLines(text: string): string {
  const lines = text.split("\n").map((l) => l.trim())
    .filter((l) =>
      l !== "" && !l.startsWith("at ") && !l.startsWith("- While") &&
      !/artificially reduced/.test(l)
    ).map((l) => l.replace(/^Warning: /, "").replace(/\.$/, ""));
  return lines.slice(0, 2).join(", ").slice(0, 300);
}
