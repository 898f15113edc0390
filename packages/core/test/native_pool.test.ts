/**
 * Buffer-pool accounting stays bounded: arrays that leave through readSync/read (dataSync) must not stay in
 * the reference map, or each read keeps its ArrayBuffer (native memory, invisible in the JS heap) forever.
 */
import { OutputBufferPool as BufferPool } from '../src/backend/native/output_buffers';

/** The slice of the tfjs cpu backend's storage that the pool hooks. */
class FakeStorage {
  readonly data = new Map<object, { values?: unknown }>();
  write(values: unknown): object {
    const id = {};
    this.data.set(id, { values });
    return id;
  }
  move(id: object, values: unknown): void {
    this.data.set(id, { values });
  }
  disposeData(id: object): boolean {
    this.data.delete(id);
    return true;
  }
  readSync(id: object): unknown {
    return this.data.get(id)?.values;
  }
  async read(id: object): Promise<unknown> {
    return this.data.get(id)?.values;
  }
}

const N = 1 << 15; // above the pool's minimum size

test('a tensor read with dataSync leaves no reference entry behind, and its array is not recycled', () => {
  const pool = new BufferPool(64 << 20);
  const storage = new FakeStorage();
  pool.install(storage);
  for (let i = 0; i < 100; i++) {
    const a = pool.f32(N);
    const id = storage.write(a);
    expect(storage.readSync(id)).toBe(a); // the caller now holds the array
    storage.disposeData(id);
    expect(pool.f32(N)).not.toBe(a); // so it must never be handed out again
  }
  expect(pool.stats().trackedBuffers).toBe(0);
  pool.uninstall();
});

test('written, moved and disposed arrays are recycled and the accounting returns to zero', async () => {
  const pool = new BufferPool(64 << 20);
  const storage = new FakeStorage();
  pool.install(storage);
  const ids: object[] = [];
  for (let i = 0; i < 10; i++) ids.push(storage.write(pool.f32(N)));
  expect(pool.stats().trackedBuffers).toBe(10);
  await storage.read(ids[0]);
  for (const id of ids) storage.disposeData(id);
  expect(pool.stats().trackedBuffers).toBe(0);
  expect(pool.stats().pooledMB).toBeCloseTo((9 * N * 4) / 2 ** 20, 6); // the read one escaped, 9 came back
  const before = pool.stats().misses;
  for (let i = 0; i < 9; i++) pool.f32(N);
  expect(pool.stats().misses).toBe(before);
  pool.uninstall();
});
