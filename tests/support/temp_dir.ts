/**
 * Temporary directories for a test module: one root per module, removed when the module unloads.
 *
 * @module
 */

/**
 * Makes a temporary root directory that is removed (best effort) when the test module unloads,
 * and a function making fresh directories below it.
 *
 * @param prefix Name prefix of the root.
 * @returns The root's path and a maker of sub-directories.
 */
export async function moduleTempDir(
  prefix: string,
): Promise<{ root: string; tempDir: () => Promise<string> }> {
  const root = await Deno.makeTempDir({ prefix });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(root, { recursive: true });
    } catch {
      // best effort
    }
  });
  return { root, tempDir: () => Deno.makeTempDir({ dir: root }) };
}
