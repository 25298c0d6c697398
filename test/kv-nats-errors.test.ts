import { JetStreamApiError } from "@nats-io/jetstream";
import { errors, NoRespondersError, RequestError } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { mapError, notStored } from "../cluster/kv-nats.js";

const apiError = (code: number, errCode: number, description: string) => new JetStreamApiError({ code, err_code: errCode, description });
const noResponders = () => new RequestError("no responders", { cause: new NoRespondersError("$KV.b.k") });

describe("NatsKv write errors", () => {
  it("counts no responders (also as the library wraps it) and 503s as certainly not stored", () => {
    expect(notStored(noResponders())).toBe(true);
    // nats.js turns a publish's no responders into "jetstream is not enabled", the cause kept.
    expect(notStored(new Error("jetstream is not enabled", { cause: noResponders() }))).toBe(true);
    expect(notStored(apiError(503, 10163, "expected last sequence per subject temporarily unavailable"))).toBe(true);
  });

  it("does not count a timeout, a refused compare-and-set or another API error: those are not asked again", () => {
    expect(notStored(new errors.TimeoutError())).toBe(false);
    expect(notStored(apiError(400, 10071, "wrong last sequence: 3"))).toBe(false);
    expect(notStored(apiError(500, 10077, "store failed"))).toBe(false);
    expect(notStored(new Error("anything"))).toBe(false);
  });

  it("maps what is finally thrown: a refused compare-and-set is CONFLICT, a 503 and no responders UNAVAILABLE", () => {
    expect(mapError("w", apiError(400, 10071, "wrong last sequence: 3"))).toMatchObject({ code: "CONFLICT" });
    expect(mapError("w", apiError(503, 10163, "temporarily unavailable"))).toMatchObject({ code: "UNAVAILABLE" });
    expect(mapError("w", new Error("jetstream is not enabled", { cause: noResponders() }))).toMatchObject({ code: "UNAVAILABLE" });
  });
});
