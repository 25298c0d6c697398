import { describe, expect, it } from "vitest";
import { logFormat } from "../src/log.js";

describe("logFormat (SHOAL_LOG_FORMAT and the terminal)", () => {
  it("is pretty on a terminal and JSON otherwise, unless asked", () => {
    expect(logFormat(undefined, true)).toBe("pretty");
    expect(logFormat(undefined, false)).toBe("json");
    expect(logFormat("", true)).toBe("pretty");
    expect(logFormat("json", true)).toBe("json");
    expect(logFormat("pretty", false)).toBe("pretty");
  });

  it("refuses anything else, naming the choices", () => {
    expect(() => logFormat("text", false)).toThrow(/json or pretty, got "text"/);
    expect(() => logFormat("JSON", true)).toThrow(/json or pretty/);
  });
});
