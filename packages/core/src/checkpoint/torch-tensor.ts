/** PyTorch dtypes we can read; float16/bfloat16 keep their raw 16-bit patterns. */
export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TorchData = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A tensor read from a checkpoint: contiguous C-order data in PyTorch layout. */
export class TorchTensor {
  private loaded?: TorchData;
  private loader?: () => TorchData;
  /** `data` may be a function: lazily read tensors load their bytes on first access only. */
  constructor(
    readonly dtype: TorchDtype,
    readonly shape: number[],
    data: TorchData | (() => TorchData),
  ) {
    if (typeof data === 'function') this.loader = data;
    else this.loaded = data;
  }
  get data(): TorchData {
    if (!this.loaded) {
      this.loaded = this.loader!();
      this.loader = undefined;
    }
    return this.loaded;
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** Storage class name (`torch.FloatStorage`) -> dtype and element size. */
export const STORAGE_TYPES: Record<string, { dtype: TorchDtype; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

/** A typed view of `bytes` (which must start at an aligned offset) as `dtype` elements. */
export function typedView(dtype: TorchDtype, bytes: Uint8Array): TorchData {
  const { buffer, byteOffset, byteLength } = bytes;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, byteLength / 4);
    case 'float64':
      return new Float64Array(buffer, byteOffset, byteLength / 8);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    case 'int32':
      return new Int32Array(buffer, byteOffset, byteLength / 4);
    case 'int16':
      return new Int16Array(buffer, byteOffset, byteLength / 2);
    case 'int8':
      return new Int8Array(buffer, byteOffset, byteLength);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, byteLength);
  }
}

function emptyLike(data: TorchData, n: number): TorchData {
  const C = data.constructor as new (n: number) => TorchData;
  return new C(n);
}

/**
 * The C-contiguous tensor of `shape` viewing `storage` at element `offset` with `stride`. Contiguous views
 * share the storage (no copy); other layouts are gathered (load time only, rare in checkpoints).
 */
export function viewStorage(storage: TorchData, offset: number, shape: number[], stride: number[]): TorchData {
  const n = shape.reduce((a, b) => a * b, 1);
  let contiguous = true;
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= shape[d];
  }
  if (n === 0) return emptyLike(storage, 0);
  let maxIndex = offset;
  for (let d = 0; d < shape.length; d++) maxIndex += (shape[d] - 1) * Math.max(stride[d], 0);
  if (maxIndex >= storage.length || offset < 0) {
    throw new Error(`tensor view (offset ${offset}, shape [${shape}], stride [${stride}]) exceeds its storage of ${storage.length} elements`);
  }
  if (contiguous) return storage.subarray(offset, offset + n) as TorchData;
  const out = emptyLike(storage, n) as unknown as { [i: number]: number | bigint };
  const src = storage as unknown as { [i: number]: number | bigint };
  const idx = new Array<number>(shape.length).fill(0);
  let pos = offset;
  for (let i = 0; i < n; i++) {
    out[i] = src[pos];
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      pos += stride[d];
      if (idx[d] < shape[d]) break;
      pos -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out as unknown as TorchData;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Float32 values of any checkpoint tensor (float32 data is returned as is, not copied). */
export function torchToFloat32(t: TorchTensor): Float32Array {
  const d = t.data;
  switch (t.dtype) {
    case 'float32':
      return d as Float32Array;
    case 'bfloat16': {
      // bfloat16 is the top half of a float32: widen bit-exactly.
      const src = d as Uint16Array;
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'float16': {
      const src = d as Uint16Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    case 'int64': {
      const src = d as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
    default:
      return Float32Array.from(d as ArrayLike<number>);
  }
}
