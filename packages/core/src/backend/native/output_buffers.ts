/**
 * Recycles the Float32Arrays of native kernel outputs once tfjs disposes them. A fresh 38 MB typed array costs
 * ~10 ms of page faults and zeroing on this machine, three times the arithmetic of an elementwise op over it,
 * so without reuse the memory system dominates LITv2's elementwise kernels.
 *
 * Safety: only arrays this pool allocated are recycled, and only when no tensor references their buffer any
 * more (counted through the backend's write/move/disposeData) and they never left through readSync/read
 * (`dataSync()` hands the array itself to the caller on the cpu backend).
 */
type DataId = object;
interface CpuStorage {
  data: { get(id: DataId): { values?: unknown } | undefined; has(id: DataId): boolean };
  write(values: unknown, shape: number[], dtype: string): DataId;
  move(id: DataId, values: unknown, shape: number[], dtype: string, refCount: number): void;
  disposeData(id: DataId, force?: boolean): boolean;
  readSync(id: DataId): unknown;
  read(id: DataId): Promise<unknown>;
}

/** Arrays below this many elements come from V8's heap cheaply and are not pooled. */
const MIN_ELEMENTS = 16384;

export class OutputBufferPool {
  private readonly refs = new Map<ArrayBufferLike, number>();
  private owned = new WeakSet<ArrayBufferLike>();
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private restore?: () => void;
  /** Event clock and the last time each size was asked for: sizes unused for a while are dropped. */
  private clock = 0;
  private readonly lastAsked = new Map<number, number>();
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get installed(): boolean {
    return this.restore !== undefined;
  }

  /** A Float32Array of n elements with unspecified contents (callers overwrite every element). */
  f32(n: number): Float32Array {
    if (!this.restore || n < MIN_ELEMENTS) return new Float32Array(n);
    this.lastAsked.set(n, ++this.clock);
    const a = this.free.get(n)?.pop();
    if (a) {
      this.pooledBytes -= a.byteLength;
      this.hits++;
      return a;
    }
    this.misses++;
    const b = new Float32Array(n);
    this.owned.add(b.buffer);
    return b;
  }

  /** Returns a scratch array that never became a tensor. */
  release(a: ArrayBufferView): void {
    if (a instanceof Float32Array && this.owned.has(a.buffer) && !this.refs.has(a.buffer)) this.recycle(a);
  }

  private recycle(a: Float32Array): void {
    if ((++this.clock & 4095) === 0) this.dropStale();
    if (a.byteLength !== a.buffer.byteLength || this.pooledBytes + a.byteLength > this.maxBytes) return;
    let list = this.free.get(a.length);
    if (!list) this.free.set(a.length, (list = []));
    list.push(a);
    this.pooledBytes += a.byteLength;
  }

  /** Sizes nobody asked for during the last ~64k pool events (e.g. a one-off input size) go back to GC. */
  private dropStale(): void {
    for (const [n, list] of this.free) {
      if ((this.lastAsked.get(n) ?? 0) < this.clock - 65536) {
        this.pooledBytes -= list.length * n * 4;
        this.free.delete(n);
      }
    }
  }

  private track(values: unknown, delta: number): void {
    if (!(values instanceof Float32Array) || !this.owned.has(values.buffer)) return;
    const n = (this.refs.get(values.buffer) ?? 0) + delta;
    if (n > 0) {
      this.refs.set(values.buffer, n);
      return;
    }
    this.refs.delete(values.buffer);
    if (values.byteLength === values.buffer.byteLength) this.recycle(values);
    else this.recycle(new Float32Array(values.buffer));
  }

  private escape(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    this.owned.delete(values.buffer);
    // The array is the caller's now and is never recycled: its reference count must go too, or the Map keeps
    // the buffer (native memory outside the JS heap) alive for good; every dataSync() of a pooled-size tensor
    // used to leave one behind.
    this.refs.delete(values.buffer);
  }

  /** Hooks the backend's storage methods (instance-level, undone by `uninstall`). */
  install(backend: object): void {
    if (this.restore) return;
    const b = backend as CpuStorage;
    const own = Object.getOwnPropertyNames(b);
    const saved = { write: b.write, move: b.move, disposeData: b.disposeData, readSync: b.readSync, read: b.read };
    const orig = {
      write: b.write.bind(b), move: b.move.bind(b), disposeData: b.disposeData.bind(b), readSync: b.readSync.bind(b), read: b.read.bind(b),
    };
    b.write = (values, shape, dtype) => {
      const id = orig.write(values, shape, dtype);
      this.track(values, +1);
      return id;
    };
    b.move = (id, values, shape, dtype, refCount) => {
      orig.move(id, values, shape, dtype, refCount);
      this.track(values, +1);
    };
    b.disposeData = (id, force) => {
      const values = b.data.get(id)?.values;
      const r = orig.disposeData(id, force);
      if (values !== undefined && !b.data.has(id)) this.track(values, -1);
      return r;
    };
    b.readSync = (id) => {
      this.escape(b.data.get(id)?.values);
      return orig.readSync(id);
    };
    b.read = (id) => {
      this.escape(b.data.get(id)?.values);
      return orig.read(id);
    };
    this.restore = () => {
      for (const k of Object.keys(saved) as (keyof typeof saved)[]) {
        if (own.includes(k)) (b as unknown as Record<string, unknown>)[k] = saved[k];
        else delete (b as unknown as Record<string, unknown>)[k];
      }
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
    this.free.clear();
    this.refs.clear();
    this.lastAsked.clear();
    this.owned = new WeakSet<ArrayBufferLike>();
    this.pooledBytes = 0;
  }

  /** `trackedBuffers`: arrays the pool counts references of (live pooled tensors); it must not grow over a run. */
  stats(): { hits: number; misses: number; pooledMB: number; trackedBuffers: number } {
    return { hits: this.hits, misses: this.misses, pooledMB: this.pooledBytes / 2 ** 20, trackedBuffers: this.refs.size };
  }
}
