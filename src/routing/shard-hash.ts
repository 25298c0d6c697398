/**
 * Actor → shard: the one hash every client must agree on, in any language.
 *
 * **Definition** (a contract; changing it re-homes every actor):
 *
 * ```
 * key   = UTF-8 bytes of  type + "\u0000" + id
 * h     = MurmurHash3_x86_32(key, seed = 0)          // unsigned 32-bit
 * shard = h mod shardCount
 * ```
 *
 * MurmurHash3_x86_32 (Austin Appleby, public domain): c1 = 0xcc9e2d51, c2 = 0x1b873593;
 * per little-endian 4-byte block k: k *= c1; k = rotl(k, 15); k *= c2; h ^= k; h = rotl(h, 13);
 * h = h * 5 + 0xe6546b64. Tail bytes (1–3) are packed little-endian into k and mixed the same way
 * without the h-rotation step. Then h ^= byteLength and the finalizer: h ^= h >>> 16;
 * h *= 0x85ebca6b; h ^= h >>> 13; h *= 0xc2b2ae35; h ^= h >>> 16. All arithmetic mod 2^32.
 *
 * - Python: `mmh3.hash(f"{type}\0{id}".encode(), 0, signed=False) % shard_count`
 * - Go: `murmur3.Sum32([]byte(typ + "\x00" + id)) % uint32(shardCount)` (github.com/spaolacci/murmur3)
 *
 * The separator is unambiguous because type names cannot contain NUL (see `ACTOR_TYPE_PATTERN`);
 * ids are well-formed Unicode (checked at ingress), so their UTF-8 encoding is unique.
 *
 * `mod` bias: with a 32-bit hash a shard is hit at most 1 + shardCount / 2^32 times as often as
 * another — none at all for a power-of-two count such as {@link DEFAULT_SHARD_COUNT}.
 *
 * Known answers (type, id → hash, shard of 1024):
 *
 * | type      | id              | murmur3 (hex) | shard |
 * | --------- | --------------- | ------------- | ----- |
 * | `account` | `alice`         | `0x758b81b2`  | 434   |
 * | `account` | `bob`           | `0x71a1a92d`  | 301   |
 * | `account` | `a.b*c>d e`     | `0x9aa520a4`  | 164   |
 * | `account` | `ü`             | `0xb10dc53a`  | 314   |
 * | `account` | `🐟 shoal`      | `0xbfb084b4`  | 180   |
 * | `t`       | `` (empty)      | `0x3a1eaaf6`  | 758   |
 *
 * Plain MurmurHash3_x86_32 checks (seed 0): `""` → 0, `"hello"` → 0x248bfa47,
 * `"The quick brown fox jumps over the lazy dog"` → 0x2e4ff723.
 */

/**
 * Shards per cluster unless configured otherwise; fixed for the life of a cluster.
 *
 * With S shards over N equal nodes the best possible max/mean is ceil(S/N) / (S/N) < 1 + N/S,
 * so 1024 keeps it ≤ 1.05 for every N ≤ 51 (≤ 1.032 at 32 nodes), while the map stays a few KB.
 */
export const DEFAULT_SHARD_COUNT = 1024;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

// Scratch space for the UTF-8 key: shardOf is on every message's path, so no allocation per call.
let buf = new Uint8Array(256);

/** MurmurHash3_x86_32 of `len` bytes of `bytes` (unsigned). */
export function murmur3(bytes: Uint8Array, seed = 0, len = bytes.length): number {
  let h = seed | 0;
  const blocks = len & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k |= bytes[blocks + 1]! << 8;
    if (tail > 2) k |= bytes[blocks + 2]! << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ len);
}

/** The MurmurHash3 finalizer: a bijection on 32-bit values with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The 32-bit hash of an actor's key: MurmurHash3_x86_32 of UTF-8(`type + "\0" + id`), seed 0. */
export function actorHash(type: string, id: string): number {
  // Worst case 3 bytes per UTF-16 unit (a surrogate pair is 2 units → 4 bytes).
  const max = (type.length + id.length + 1) * 3;
  if (buf.length < max) buf = new Uint8Array(Math.max(max, buf.length * 2));
  let n = utf8(type, buf, 0);
  buf[n++] = 0;
  n = utf8(id, buf, n);
  return murmur3(buf, 0, n);
}

/**
 * The shard in `[0, shardCount)` that owns actor `(type, id)`; see the module doc for the definition.
 * `shardCount` must be a positive integer (not checked: this runs for every message).
 */
export function shardOf(type: string, id: string, shardCount: number = DEFAULT_SHARD_COUNT): number {
  return actorHash(type, id) % shardCount;
}

/** Writes `s` as UTF-8 at `at`, returns the end; lone surrogates become U+FFFD like `TextEncoder`. */
function utf8(s: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
    } else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c < 0xe000) {
        const d = s.charCodeAt(i + 1);
        if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[at++] = 0xf0 | (c >> 18);
          out[at++] = 0x80 | ((c >> 12) & 0x3f);
          out[at++] = 0x80 | ((c >> 6) & 0x3f);
          out[at++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}
