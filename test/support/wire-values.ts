/**
 * The value model of the decoder fuzz (test/fuzz-decoders-*.test.ts): what a hostile sender can
 * put on the wire, and writers for it. Objects are entry lists so `__proto__` stays plain data;
 * the MessagePack writer picks every header's width and records where lengths sit, so a test can
 * inflate them later; JSON is written token by token (`1e400`, `-0`).
 */

/** An object as a list of entries, so keys like `__proto__` stay plain data. */
export class Obj {
  constructor(readonly entries: ReadonlyArray<readonly [string, V]>) {}
}
/** A MessagePack extension value (JSON writes it as null). */
export class Ext {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}
/** A number written as this exact JSON token (`1e400`, `-0`, `9007199254740993`). */
export class Num {
  constructor(readonly text: string) {}
}
export type V = null | boolean | number | string | Uint8Array | Ext | Num | Obj | V[];

export const ABSENT = Symbol("absent");
export type Field = V | typeof ABSENT;
export const obj = (fields: Record<string, Field>, extra: ReadonlyArray<readonly [string, V]> = []): Obj =>
  new Obj([...Object.entries(fields).filter((e): e is [string, V] => e[1] !== ABSENT), ...extra.filter(([k]) => !(k in fields))]);

export type Fmt = "json" | "msgpack";

/** Where a length sits in an encoding: `size` bytes at `at`, or (size 0) the low bits of the marker at `at`. */
export interface LengthHeader {
  at: number;
  size: 0 | 1 | 2 | 4;
  kind: "str" | "bin" | "array" | "map" | "ext";
  fixMax?: number;
}

/** A MessagePack writer that picks the width of every header from `widths` and records where lengths are. */
export class MsgpackWriter {
  private readonly out: number[] = [];
  readonly headers: LengthHeader[] = [];
  private turn = 0;

  constructor(
    private readonly widths: readonly number[] = [0],
    private readonly wtf8 = false,
  ) {}

  static encode(v: V, widths?: readonly number[], wtf8?: boolean): { bytes: Uint8Array; headers: LengthHeader[] } {
    const w = new MsgpackWriter(widths, wtf8);
    w.value(v);
    return { bytes: Uint8Array.from(w.out), headers: w.headers };
  }

  private width(): number {
    return this.widths.length === 0 ? 0 : this.widths[this.turn++ % this.widths.length]!;
  }

  private uint(n: number | bigint, size: number): void {
    if (size <= 4 && typeof n === "number") {
      for (let i = size - 1; i >= 0; i--) this.out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
      return;
    }
    let b = BigInt(n);
    const bytes: number[] = [];
    for (let i = 0; i < size; i++, b >>= 8n) bytes.unshift(Number(b & 0xffn));
    this.out.push(...bytes);
  }

  private length(
    kind: LengthHeader["kind"],
    n: number,
    fix: { marker: number; max: number } | undefined,
    m8: number | undefined,
    m16: number,
    m32: number,
  ): void {
    const w = this.width();
    if (fix !== undefined && w === 0 && n <= fix.max) {
      this.headers.push({ at: this.out.length, size: 0, kind, fixMax: fix.max });
      this.out.push(fix.marker | n);
      return;
    }
    const [marker, size] = m8 !== undefined && w <= 1 && n <= 0xff ? [m8, 1 as const] : w <= 2 && n <= 0xffff ? [m16, 2 as const] : [m32, 4 as const];
    this.out.push(marker);
    this.headers.push({ at: this.out.length, size, kind });
    this.uint(n, size);
  }

  private utf8(s: string): Uint8Array {
    if (!this.wtf8) return Buffer.from(s, "utf8");
    // Lone surrogates as their 3-byte forms (what a lenient encoder in another language emits).
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.codePointAt(i)!;
      if (c > 0xffff) i++;
      out.push(
        ...(c >= 0xd800 && c <= 0xdfff ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)] : Buffer.from(String.fromCodePoint(c), "utf8")),
      );
    }
    return Uint8Array.from(out);
  }

  private number(n: number): void {
    const w = this.width();
    if (Number.isSafeInteger(n) && !Object.is(n, -0)) {
      if (n >= 0 && n <= 0x7f && w === 0) return void this.out.push(n);
      if (n < 0 && n >= -32 && w === 0) return void this.out.push(n & 0xff);
      if (n >= 0) {
        const [m, size] = n <= 0xff ? [0xcc, 1] : n <= 0xffff ? [0xcd, 2] : n <= 0xffffffff ? [0xce, 4] : [0xcf, 8];
        this.out.push(m);
        return this.uint(n, size);
      }
      const [m, size] = n >= -0x80 ? [0xd0, 1] : n >= -0x8000 ? [0xd1, 2] : n >= -0x80000000 ? [0xd2, 4] : [0xd3, 8];
      this.out.push(m);
      return this.uint(BigInt.asUintN(size * 8, BigInt(n)), size);
    }
    const buf = Buffer.alloc(w === 3 ? 4 : 8);
    if (w === 3) buf.writeFloatBE(n);
    else buf.writeDoubleBE(n);
    this.out.push(w === 3 ? 0xca : 0xcb, ...buf);
  }

  private value(v: V): void {
    if (v === null) this.out.push(0xc0);
    else if (typeof v === "boolean") this.out.push(v ? 0xc3 : 0xc2);
    else if (typeof v === "number") this.number(v);
    else if (v instanceof Num) this.number(Number(v.text));
    else if (typeof v === "string") {
      const b = this.utf8(v);
      this.length("str", b.length, { marker: 0xa0, max: 31 }, 0xd9, 0xda, 0xdb);
      for (const x of b) this.out.push(x);
    } else if (v instanceof Uint8Array) {
      this.length("bin", v.length, undefined, 0xc4, 0xc5, 0xc6);
      for (const x of v) this.out.push(x);
    } else if (v instanceof Ext) {
      const fixed = [1, 2, 4, 8, 16].indexOf(v.data.length);
      if (fixed >= 0 && this.width() === 0) this.out.push(0xd4 + fixed);
      else this.length("ext", v.data.length, undefined, 0xc7, 0xc8, 0xc9);
      this.out.push(v.type & 0xff, ...v.data);
    } else if (Array.isArray(v)) {
      this.length("array", v.length, { marker: 0x90, max: 15 }, undefined, 0xdc, 0xdd);
      for (const x of v) this.value(x);
    } else {
      this.length("map", v.entries.length, { marker: 0x80, max: 15 }, undefined, 0xde, 0xdf);
      for (const [k, x] of v.entries) {
        this.value(k);
        this.value(x);
      }
    }
  }
}

export function jsonText(v: V): string {
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return JSON.stringify(v) ?? "null";
  if (v instanceof Num) return v.text;
  if (v instanceof Ext) return "null";
  if (v instanceof Uint8Array) return `[${v.join(",")}]`;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(",")}]`;
  return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(",")}}`;
}

const te = new TextEncoder();
export const encodeAs = (v: V, fmt: Fmt, widths?: readonly number[], wtf8?: boolean): Uint8Array =>
  fmt === "json" ? te.encode(jsonText(v)) : MsgpackWriter.encode(v, widths, wtf8).bytes;
