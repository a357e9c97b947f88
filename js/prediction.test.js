import { describe, expect, it } from "vitest";
import { predictionText } from "./prediction.js";

describe("predictionText", () => {
  it("names the most probable class", () => {
    expect(predictionText([0.1, 0.9], 1, ["cat", "dog"])).toBe("predicted dog (p = 0.900)");
  });
  it("reads a one-output model as p > 0.5", () => {
    expect(predictionText([0.73], 1, ["spam"])).toBe("predicted spam (p = 0.730)");
    expect(predictionText([0.27], 0, ["spam"])).toBe("predicted not spam (p = 0.730)");
  });
});
