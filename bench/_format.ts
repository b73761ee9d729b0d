/**
 * How the bench prints its figures: numbers, Markdown tables, engine labels.
 *
 * @module
 */

import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";

/** `n` with `digits` decimals. */
export function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

/** A Markdown table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)]
    .join("\n");
}

/** Table label of an engine: `this (dawn)`, `ort-wasm-2t`. */
export function engineLabel(name: string, provider: WebGpuProvider | null): string {
  return provider === null ? name : `${name} (${provider})`;
}
