/**
 * The local-file side of reading a TF.js model, for Deno only: a path resolved against the working
 * directory into a `file:` URL, and the size and bytes of a local file. `_tfjs_model_io.ts` loads
 * this module only when a model is read from a path or `file:` URL, so a web page (which reads
 * models over HTTP) never loads it, nor the `node:` built-ins it imports.
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { ModelLoadError } from "../errors.ts";
import { errorText } from "../_describe.ts";

/** A file path (relative to the working directory, or absolute) as a `file:` URL. */
export function fileUrlOfPath(path: string): URL {
  return pathToFileURL(resolvePath(path));
}

/**
 * The size of a local file, in bytes.
 *
 * @param url The file.
 * @param shown How the file is named in errors.
 * @param missing The message when it does not exist.
 */
export async function localFileSize(url: URL, shown: string, missing: string): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ModelLoadError(missing, { cause: e });
    throw new ModelLoadError(`cannot read ${shown}: ${errorText(e)}`, { cause: e });
  }
  if (!info.isFile) throw new ModelLoadError(`${shown} is not a file`);
  return info.size;
}

/**
 * The bytes of a local file.
 *
 * @param url The file.
 * @param what How the file is named in errors.
 */
export async function readLocalFile(url: URL, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ModelLoadError(`${what} not found`, { cause: e });
    }
    throw new ModelLoadError(`cannot read ${what}: ${errorText(e)}`, { cause: e });
  }
}
