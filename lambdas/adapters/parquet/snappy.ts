/**
 * Snappy block compression (the raw format Parquet's SNAPPY codec uses: a varint length, then
 * literals and back-references of at most 64 KiB), written straight into one preallocated
 * array. hyparquet-writer's compressor appends byte by byte through a growable writer and made
 * 40–130 MB/s (measured), the largest single cost of encoding a file; this one is several times
 * faster on the same pages. Decoded by every Snappy reader (hyparquet's included).
 */

const HASH_BITS = 14;
const HASH_SHIFT = 32 - HASH_BITS;
const MAX_OFFSET = 65535;
/** Bytes at the end that are never hashed, so a 4-byte load never reads past the input. */
const INPUT_MARGIN = 15;
const table = new Int32Array(1 << HASH_BITS);
/** Output scratch, reused: the result is copied out once at its exact length. */
let scratch = new Uint8Array(0);

function load32(a: Uint8Array, p: number): number {
  return a[p]! | (a[p + 1]! << 8) | (a[p + 2]! << 16) | (a[p + 3]! << 24);
}

function hash(word: number): number {
  return Math.imul(word, 0x1e35a7bd) >>> HASH_SHIFT;
}

function literal(out: Uint8Array, op: number, input: Uint8Array, start: number, length: number): number {
  const n = length - 1;
  if (n < 60) out[op++] = n << 2;
  else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else if (n < 0x10000) {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  } else if (n < 0x1000000) {
    out[op++] = 62 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = n >>> 16;
  } else {
    out[op++] = 63 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = (n >>> 16) & 0xff;
    out[op++] = n >>> 24;
  }
  if (length < 32) {
    for (let i = 0; i < length; i++) out[op + i] = input[start + i]!;
  } else {
    out.set(input.subarray(start, start + length), op);
  }
  return op + length;
}

/** A back-reference of `length` ≥ 4 bytes at `offset` ≤ 65535, as copy-1 and copy-2 elements. */
function copy(out: Uint8Array, op: number, offset: number, length: number): number {
  while (length >= 68) {
    out[op++] = 2 | (63 << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    length -= 64;
  }
  if (length > 64) {
    out[op++] = 2 | (59 << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    length -= 60;
  }
  if (length < 12 && offset < 2048) {
    out[op++] = 1 | ((length - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((length - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}

/** Compresses `input` into one Snappy block (a new array, exactly as long as the output). */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const n = input.length;
  const bound = 32 + n + Math.ceil(n / 6);
  if (scratch.length < bound) scratch = new Uint8Array(bound);
  const out = scratch;
  let op = 0;
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      out[op++] = v;
      break;
    }
    out[op++] = (v & 0x7f) | 0x80;
  }
  let nextEmit = 0;
  if (n >= INPUT_MARGIN) {
    table.fill(-1);
    const limit = n - INPUT_MARGIN;
    let ip = 1;
    search: for (;;) {
      // Find a 4-byte match, skipping faster the longer none is found (incompressible data).
      let skip = 32;
      let candidate: number;
      let word: number;
      for (;;) {
        if (ip > limit) break search;
        word = load32(input, ip);
        const h = hash(word);
        candidate = table[h]!;
        table[h] = ip;
        if (candidate >= 0 && ip - candidate <= MAX_OFFSET && load32(input, candidate) === word) break;
        ip += skip++ >>> 5;
      }
      if (ip > nextEmit) op = literal(out, op, input, nextEmit, ip - nextEmit);
      // Emit copies for as long as the next position matches too.
      for (;;) {
        let length = 4;
        while (ip + length < n && input[ip + length] === input[candidate + length]) length++;
        op = copy(out, op, ip - candidate, length);
        ip += length;
        nextEmit = ip;
        if (ip >= limit) break search;
        table[hash(load32(input, ip - 1))] = ip - 1;
        word = load32(input, ip);
        const h = hash(word);
        candidate = table[h]!;
        table[h] = ip;
        if (!(candidate >= 0 && ip - candidate <= MAX_OFFSET && load32(input, candidate) === word)) break;
      }
      ip++;
    }
  }
  if (nextEmit < n) op = literal(out, op, input, nextEmit, n - nextEmit);
  return out.slice(0, op);
}
