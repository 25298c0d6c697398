import type { Decoder } from "@msgpack/msgpack";
import { BadRequestError, ShoalError } from "../errors.js";
import { checkDecoded, checkSize } from "./check.js";
import { type DecodeLimits, defaultDecodeLimits, forbiddenKeys, resolveLimits } from "./limits.js";
import { createDecoder, createEncoder } from "./msgpack-strings.js";

/**
 * MessagePack codec with decode limits. Length limits are enforced by the decoder while it
 * reads (so a forged length header never allocates), depth and forbidden keys by a walk of the
 * result. Encoders and decoders are reused: they keep their buffers between calls.
 */
export class MsgpackCodec {
  readonly limits: DecodeLimits;
  private readonly encoder = createEncoder({ ignoreUndefined: true });
  private readonly decoder: Decoder;

  constructor(limits?: Partial<DecodeLimits>) {
    this.limits = resolveLimits(limits);
    this.decoder = createDecoder({
      maxStrLength: this.limits.maxStringLength,
      maxBinLength: this.limits.maxBinaryLength,
      maxArrayLength: this.limits.maxArrayLength,
      maxMapLength: this.limits.maxMapLength,
      maxExtLength: this.limits.maxBinaryLength,
      // Map keys other than strings and numbers would need a Map; we only accept string keys.
      mapKeyConverter: (key: unknown) => {
        if (typeof key !== "string") throw new BadRequestError("map keys must be strings");
        if (forbiddenKeys.has(key)) {
          throw new BadRequestError(`forbidden key ${JSON.stringify(key)} in payload`, { details: { key } });
        }
        return key;
      },
    });
  }

  /** Encodes one value into bytes of its own (a copy: later encodes never change them). */
  encode(value: unknown): Uint8Array {
    // Copied out of the encoder's buffer by Buffer.from, which takes small copies from Node's
    // shared pool: about half the cost of the encoder's own copy (a new ArrayBuffer each time).
    // Handed out as a plain Uint8Array, so that what decodes from it (bin views) is one too.
    const copy = Buffer.from(this.encoder.encodeSharedRef(value));
    return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
  }

  /** Encodes one value into the encoder's own buffer: the view is overwritten by the next encode. */
  encodeView(value: unknown): Uint8Array {
    return this.encoder.encodeSharedRef(value);
  }

  /** Decodes one MessagePack value; anything wrong with the bytes is a BAD_REQUEST. */
  decode(bytes: Uint8Array): unknown {
    checkSize(bytes, this.limits);
    let value: unknown;
    try {
      value = this.decoder.decode(bytes);
    } catch (err) {
      if (ShoalError.is(err)) throw err;
      throw new BadRequestError(`malformed MessagePack: ${(err as Error).message}`, { cause: err });
    }
    checkDecoded(value, this.limits);
    return value;
  }
}

/** A shared codec with the default limits. */
export const msgpack = new MsgpackCodec(defaultDecodeLimits);
