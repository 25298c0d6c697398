/**
 * A node's colour, from its id alone: the same on every page, after a reload and when the node
 * restarts, whoever else is in the cluster. Two nodes may get close colours (a hash cannot
 * promise otherwise); their names are always beside them.
 */
export function nodeColor(id: string): string {
  const h = hash(id);
  const hue = h % 360;
  const light = 60 + ((h >>> 12) % 3) * 6;
  return `hsl(${hue} 72% ${light}%)`;
}

/** FNV-1a over the UTF-16 code units, then a murmur3 finalizer so ids differing in one character spread apart. */
function hash(s: string): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
