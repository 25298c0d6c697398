/**
 * One outgoing batch as MessagePack bytes, built entry by entry: each entry is encoded once
 * (by the caller, into its encoder's shared buffer) and copied here, behind a 5-byte array32
 * header whose count is filled in when the batch is taken. The buffer grows as needed and is
 * reused for the next batch, so a steady stream of batches allocates only the bytes it sends.
 */
/** The array32 header every batch starts with: 0xdd and a 32-bit big-endian count. */
export const BATCH_HEADER_BYTES = 5;

export class BatchBuffer {
  private buf = new Uint8Array(16 * 1024);
  private pos = BATCH_HEADER_BYTES;
  private n = 0;

  /** Bytes the batch would take now. */
  get size(): number {
    return this.pos;
  }

  get count(): number {
    return this.n;
  }

  append(entry: Uint8Array): void {
    const need = this.pos + entry.length;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
    }
    this.buf.set(entry, this.pos);
    this.pos = need;
    this.n++;
  }

  /** The batch as one MessagePack array (bytes of its own), and an empty buffer again. */
  take(): Uint8Array {
    const b = this.buf;
    b[0] = 0xdd; // array 32
    b[1] = this.n >>> 24;
    b[2] = (this.n >>> 16) & 0xff;
    b[3] = (this.n >>> 8) & 0xff;
    b[4] = this.n & 0xff;
    const out = b.slice(0, this.pos);
    this.pos = BATCH_HEADER_BYTES;
    this.n = 0;
    return out;
  }
}
