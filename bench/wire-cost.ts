import { BatchBuffer } from "../cluster/batch-buffer.js";
import { parseRequestBatch } from "../cluster/batch-wire.js";
import { flattenAsk, type ForwardedAsk } from "../cluster/wire.js";
import { defaultDecodeLimits } from "../src/codec/limits.js";
import { MsgpackCodec } from "../src/codec/msgpack.js";
import { cpuMicros } from "./cpu.js";
import { emit } from "./report.js";

const ENTRIES = 256_000;
const BATCH = 64;

/**
 * What a remote message pays on the wire that raw NATS does not: encoding its batch entry (the
 * flat ask, `msg` `{p: string}` as the remote bench sends it) into a batch, and decoding and
 * checking it at the peer — CPU time per entry, in one process, no NATS. Raw publish→subscribe
 * moves the same payload as bytes, so this is a floor under Shoal's CPU per send above raw's.
 */
export function wireCost(): void {
  const codec = new MsgpackCodec({ maxDepth: defaultDecodeLimits.maxDepth + 2 });
  for (const payload of [128, 1024]) {
    const msg = { p: "x".repeat(payload - 10) };
    const ask = (i: number): ForwardedAsk => ({
      k: "ask",
      type: "benchecho",
      id: `e${i % 256}`,
      msg,
      timeoutMs: 29_900,
      mapVersion: 3,
      hops: 0,
      discard: true,
    });
    const buf = new BatchBuffer();
    let batch: Uint8Array = new Uint8Array(0);
    const encode = () => {
      for (let i = 1; i <= ENTRIES; i++) {
        buf.append(codec.encodeView(flattenAsk(ask(i), i)));
        if (i % BATCH === 0) batch = buf.take();
      }
    };
    const decode = () => {
      for (let k = 0; k < ENTRIES / BATCH; k++) parseRequestBatch(codec.decode(batch));
    };
    encode(); // warm-up (JIT)
    decode();
    const [enc, dec] = [cpuNanosPer(ENTRIES, encode), cpuNanosPer(ENTRIES, decode)];
    const what = { payload, note: "one process, no NATS: the codec work per remote message that raw pub→sub does not do" };
    emit({ name: `wire_encode_${payload}b`, value: enc, unit: "ns CPU/entry", ...what });
    emit({ name: `wire_decode_${payload}b`, value: dec, unit: "ns CPU/entry", ...what });
  }
}

function cpuNanosPer(n: number, run: () => void): number {
  const before = cpuMicros()!;
  run();
  return ((cpuMicros()! - before) * 1000) / n;
}
