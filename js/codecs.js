// Binary array codecs: Python sends {buffer, dtype, shape}; buffer arrives as a DataView
// (or ArrayBuffer / typed array). Views honour byteOffset/byteLength; unaligned data is copied.

const TYPED = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  int8: Int8Array,
};

/** Bytes of `buffer` as {arrayBuffer, byteOffset, byteLength}. */
function bytesOf(buffer) {
  if (buffer instanceof ArrayBuffer) {
    return { arrayBuffer: buffer, byteOffset: 0, byteLength: buffer.byteLength };
  }
  if (ArrayBuffer.isView(buffer)) {
    return {
      arrayBuffer: buffer.buffer,
      byteOffset: buffer.byteOffset,
      byteLength: buffer.byteLength,
    };
  }
  throw new TypeError(`expected a DataView, ArrayBuffer or typed array, got ${typeof buffer}`);
}

/**
 * Decode an encoded array into {data, shape}: `data` is a typed array of `dtype`.
 * @param {{buffer: DataView|ArrayBuffer, dtype: string, shape: number[]}} encoded
 */
export function decodeArray(encoded) {
  const Typed = TYPED[encoded?.dtype];
  if (!Typed) throw new TypeError(`unsupported dtype ${String(encoded?.dtype)}`);
  const { arrayBuffer, byteOffset, byteLength } = bytesOf(encoded.buffer);
  const size = Typed.BYTES_PER_ELEMENT;
  if (byteLength % size !== 0) throw new RangeError(`byteLength ${byteLength} is not a multiple of ${size}`);
  const count = byteLength / size;
  const shape = Array.isArray(encoded.shape) ? encoded.shape : [count];
  const expected = shape.reduce((a, b) => a * b, 1);
  if (expected !== count) throw new RangeError(`shape ${shape} needs ${expected} values, got ${count}`);
  let data;
  if (byteOffset % size === 0) {
    data = new Typed(arrayBuffer, byteOffset, count);
  } else {
    data = new Typed(arrayBuffer.slice(byteOffset, byteOffset + byteLength));
  }
  return { data, shape };
}
