/**
 * A value's MessagePack size, estimated without encoding it (as the JSON length it replaces
 * did): a string counts one byte per UTF-16 unit, so text outside ASCII may take up to 3× its
 * estimate (the default 256 KB handoff batch leaves that margin under NATS's 1 MiB payload); a
 * scalar counts 9, a container 5 plus its keys and items, bytes of a typed array as they are.
 * Used to cut handoff batches and to estimate actors' state sizes for load reports.
 */
export function roughSize(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") total += 5 + v.length;
    else if (typeof v !== "object" || v === null) total += 9;
    else if (ArrayBuffer.isView(v)) total += 5 + v.byteLength;
    else if (Array.isArray(v)) {
      total += 5;
      for (const x of v) stack.push(x);
    } else {
      total += 5;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        total += 5 + k.length;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return total;
}
