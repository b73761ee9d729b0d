/**
 * Command-line pieces the kernel benches share: lists of shapes or tiles written `AxBxC`, and the
 * note that compile times need Mesa's shader cache off.
 *
 * @module
 */

/**
 * Parses `17x17x384x384,33x33x384x384` into `[[17, 17, 384, 384], [33, 33, 384, 384]]`.
 *
 * @param text The flag's value: items joined by commas.
 * @param form What an item is, e.g. `HxWxCINxCOUT`: its number of parts is the arity.
 * @param flag The flag's name, for the error.
 * @returns One array of positive integers per item.
 * @throws {Error} Naming the flag, the item and the form, for an item that is not `form`.
 */
export function parseDimensionList(text: string, form: string, flag: string): number[][] {
  const arity = form.split("x").length;
  return text.split(",").map((item) => {
    const values = item.split("x").map(Number);
    if (values.length !== arity || values.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new Error(`${flag} takes ${form} items (positive integers), got "${item}"`);
    }
    return values;
  });
}

/** Says so when Mesa's disk shader cache is on: compile times may then be cache hits. */
export function noteShaderCache(): void {
  if (Deno.env.get("MESA_SHADER_CACHE_DISABLE") !== "true") {
    console.log(
      "note: MESA_SHADER_CACHE_DISABLE is not true; compile times may come from Mesa's cache\n",
    );
  }
}
