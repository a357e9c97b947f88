import { describe, expect, it } from "vitest";
import { decodeArray } from "./codecs.js";

describe("decodeArray", () => {
  it("decodes a DataView over an aligned offset without copying", () => {
    const backing = new Float32Array([9, 1, 2, 3, 4, 9]);
    const view = new DataView(backing.buffer, 4, 16);
    const { data, shape } = decodeArray({ buffer: view, dtype: "float32", shape: [2, 2] });
    expect(Array.from(data)).toEqual([1, 2, 3, 4]);
    expect(shape).toEqual([2, 2]);
    expect(data.buffer).toBe(backing.buffer);
  });

  it("copies when the offset is not aligned", () => {
    const bytes = new Uint8Array(1 + 8);
    new DataView(bytes.buffer).setFloat32(1, 1.5, true);
    new DataView(bytes.buffer).setFloat32(5, -2.25, true);
    const { data } = decodeArray({ buffer: new DataView(bytes.buffer, 1, 8), dtype: "float32", shape: [2] });
    expect(Array.from(data)).toEqual([1.5, -2.25]);
  });

  it("rejects a shape that does not match the bytes", () => {
    const view = new DataView(new ArrayBuffer(12));
    expect(() => decodeArray({ buffer: view, dtype: "float32", shape: [2, 2] })).toThrow(RangeError);
  });

  it("rejects unknown dtypes", () => {
    expect(() => decodeArray({ buffer: new ArrayBuffer(4), dtype: "complex64", shape: [1] })).toThrow(TypeError);
  });

  it("decodes a uint32 buffer given as a DataView", () => {
    const source = new Uint32Array([7, 8, 9]);
    const { data, shape } = decodeArray({ buffer: new DataView(source.buffer), dtype: "uint32", shape: [3] });
    expect(Array.from(data)).toEqual([7, 8, 9]);
    expect(shape).toEqual([3]);
  });
});
