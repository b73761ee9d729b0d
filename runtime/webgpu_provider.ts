/**
 * Which WebGPU implementation the runtime runs on.
 *
 * - `"deno"`: the host's own `navigator.gpu` (Deno's built-in WebGPU, wgpu; in a web page, the
 *   browser's). The default; needs no extra permission.
 * - `"dawn"`: Dawn, the WebGPU implementation in Chrome, loaded from the npm package `webgpu`
 *   (a Node-API addon, about 21 MB for linux-x64) only when asked for. It needs `--allow-ffi`
 *   (and `--allow-env`, `--allow-read`). Its readbacks complete in tens of microseconds, where
 *   Deno 2.9's `mapAsync` sleeps 10 ms before it resolves. Deno only.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { readEnv } from "./_env.ts";

/**
 * A WebGPU implementation the runtime can run on.
 *
 * @example
 * ```ts
 * import { createGpuContext, type WebGpuProvider } from "../mod.ts";
 *
 * const provider: WebGpuProvider = "deno";
 * const gpu = await createGpuContext({ provider });
 * console.log(gpu.adapter.provider); // "deno"
 * gpu.destroy();
 * ```
 */
export type WebGpuProvider = "deno" | "dawn";

/**
 * Every provider name, the default first.
 *
 * @example
 * ```ts
 * import { WEBGPU_PROVIDERS } from "../mod.ts";
 * console.log(WEBGPU_PROVIDERS.join(", ")); // deno, dawn
 * ```
 */
export const WEBGPU_PROVIDERS: readonly WebGpuProvider[] = Object.freeze(["deno", "dawn"]);

/**
 * The environment variable that picks the provider when the caller does not.
 *
 * @example
 * ```ts
 * import { WEBGPU_PROVIDER_ENV } from "../mod.ts";
 * console.log(`${WEBGPU_PROVIDER_ENV}=dawn deno task pose photo.jpg`);
 * ```
 */
export const WEBGPU_PROVIDER_ENV = "POSENET_WEBGPU";

/**
 * The provider to use: `requested` when given, else `$POSENET_WEBGPU`, else `"deno"`.
 *
 * @param requested The caller's choice, if any.
 * @returns A valid provider name.
 * @throws {InvalidInputError} When the choice (or the environment variable) is not a provider
 *   name; the message lists the valid ones.
 *
 * @example
 * ```ts
 * import { resolveWebGpuProvider } from "../mod.ts";
 * console.log(resolveWebGpuProvider("dawn")); // "dawn"
 * try {
 *   resolveWebGpuProvider("metal" as never);
 * } catch (err) {
 *   console.log((err as Error).message); // WebGPU provider must be "deno" or "dawn", got "metal"
 * }
 * ```
 */
export function resolveWebGpuProvider(requested?: string): WebGpuProvider {
  const fromEnv = requested === undefined ? readEnv(WEBGPU_PROVIDER_ENV) : undefined;
  const name = requested ?? (fromEnv || undefined) ?? "deno";
  if (!(WEBGPU_PROVIDERS as readonly string[]).includes(name)) {
    const source = requested === undefined ? ` (from $${WEBGPU_PROVIDER_ENV})` : "";
    throw new InvalidInputError(
      `WebGPU provider must be ${
        WEBGPU_PROVIDERS.map((p) => JSON.stringify(p)).join(" or ")
      }, got ${JSON.stringify(name)}${source}`,
    );
  }
  return name as WebGpuProvider;
}
