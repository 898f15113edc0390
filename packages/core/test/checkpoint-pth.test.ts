import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { tf } from '@litv2/core';
import { initBackend } from '@litv2/core/node';
import { isPlaceholder, TorchTensor, torchToFloat32 } from '../src/checkpoint';
import { loadStateDictFile, readPth } from '../src/node';
import { viewStorage } from '../src/checkpoint/torch-tensor';

const repoRoot = path.resolve(__dirname, '../../..');
const ref = path.resolve(repoRoot, '../shared/reference');
const litFix = path.join(ref, 'litv2/fixtures');

interface Manifest {
  tensors: { name: string; role: string; shape: number[]; offset: number; nbytes: number; orig_dtype?: string }[];
}

/** Param tensors of a fixture, as float32 arrays read from the .bin. */
function fixtureParams(dir: string, name: string): Map<string, { shape: number[]; data: Float32Array; origDtype?: string }> {
  const man = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Manifest;
  const bin = fs.readFileSync(path.join(dir, `${name}.bin`));
  const out = new Map<string, { shape: number[]; data: Float32Array; origDtype?: string }>();
  for (const t of man.tensors) {
    if (t.role !== 'param') continue;
    const data = new Float32Array(bin.buffer.slice(bin.byteOffset + t.offset, bin.byteOffset + t.offset + t.nbytes));
    out.set(t.name, { shape: t.shape, data, origDtype: t.orig_dtype });
  }
  return out;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-pth-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Hand-assembled pickle bytes (protocol 2 opcodes). */
function pkl(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)));
  return new Uint8Array(Buffer.concat(chunks));
}
const binunicode = (s: string): Uint8Array => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return new Uint8Array(Buffer.concat([Buffer.from('X'), len, b]));
};
function writeZip(name: string, files: Zippable, level: 0 | 6 = 0): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, zipSync(files, { level }));
  return file;
}

describe('readPth: torch.save archives', () => {
  test('litv2_tiny.pth equals the .bin fixture bit for bit, int64 num_batches_tracked included', () => {
    const sd = readPth(path.join(litFix, 'litv2_tiny.pth')) as Record<string, TorchTensor>;
    const want = fixtureParams(litFix, 'litv2_tiny');
    expect(Object.keys(sd)).toEqual([...want.keys()]); // same keys, same order
    let int64 = 0;
    for (const [name, w] of want) {
      const t = sd[name];
      expect(t).toBeInstanceOf(TorchTensor);
      expect(t.shape).toEqual(w.shape);
      if (w.origDtype === 'int64') {
        int64++;
        expect(t.dtype).toBe('int64');
        expect(t.data).toBeInstanceOf(BigInt64Array);
        expect([...(t.data as BigInt64Array)]).toEqual([1234n]);
        expect(w.data[0]).toBe(1234);
      } else {
        expect(t.dtype).toBe('float32');
        if (!bitsEqual(t.data as Float32Array, w.data)) throw new Error(`tensor ${name} differs from the fixture`);
      }
    }
    expect(int64).toBe(3);
    // OrderedDict attributes (state_dict._metadata) are kept out of the keys.
    const hidden = (sd as unknown as { __state__: { _metadata: Record<string, unknown> } }).__state__;
    expect(Object.keys(hidden._metadata)).toContain('patch_embed.proj');
  });

  test('dtm_wrapped.pth: nested checkpoint dict with an inert yacs CfgNode', () => {
    const ck = readPth(path.join(litFix, 'dtm_wrapped.pth')) as Record<string, unknown>;
    expect(Object.keys(ck)).toEqual(['model', 'epoch', 'max_accuracy', 'config']);
    expect(ck.epoch).toBe(299);
    expect(ck.max_accuracy).toBeCloseTo(82.044, 6);
    const cfg = ck.config as Record<string, Record<string, unknown>>;
    expect(isPlaceholder(cfg)).toBe(true);
    expect(cfg.__class__).toBe('yacs.config.CfgNode');
    expect(cfg.MODEL.TYPE).toBe('litv2');
    expect(cfg.MODEL.DROP_PATH_RATE).toBe(0.2);
    const lit = cfg.MODEL.LIT as Record<string, unknown>;
    expect(lit.DEPTHS).toEqual([2, 2, 6, 2]);
    expect(lit.QK_SCALE).toBeNull();
    expect(lit.__immutable__).toBe(false);
    expect(lit.__deprecated_keys__).toEqual([]); // builtins.set -> array
    expect((cfg.TRAIN.OPTIMIZER as Record<string, unknown>).BETAS).toEqual([0.9, 0.999]);
    const model = ck.model as Record<string, TorchTensor>;
    const want = fixtureParams(litFix, 'dtm');
    for (const [name, w] of want) {
      if (w.origDtype === 'int64') continue;
      expect(model[name].shape).toEqual(w.shape);
      if (!bitsEqual(model[name].data as Float32Array, w.data)) throw new Error(`tensor ${name} differs`);
    }
  });

  test('retinanet_tiny.pth: {meta, state_dict}; loadStateDictFile unwraps and filters by prefix', async () => {
    const file = path.join(ref, 'detection/retinanet_tiny.pth');
    const ck = readPth(file) as Record<string, Record<string, unknown>>;
    expect(Object.keys(ck)).toEqual(['meta', 'state_dict']);
    expect(ck.meta.mmdet_version).toBe('2.11.0');
    expect(Object.keys(ck.state_dict)).toHaveLength(137);

    const sd = await loadStateDictFile(file);
    expect(Object.keys(sd)).toHaveLength(137);
    const want = fixtureParams(path.join(ref, 'detection'), 'retinanet_tiny');
    for (const [name, w] of want) {
      expect(sd[name].shape).toEqual(w.shape);
      if (!bitsEqual(sd[name].dataSync() as Float32Array, w.data)) throw new Error(`tensor ${name} differs`);
    }
    tf.dispose(Object.values(sd));

    const bb = await loadStateDictFile(file, { prefix: 'backbone.' });
    expect(Object.keys(bb).every((k) => !k.startsWith('backbone.'))).toBe(true);
    expect(bb['patch_embed.proj.weight'].shape).toEqual([48, 3, 4, 4]);
    expect(bb['layers.0.downsample.norm_layer.num_batches_tracked'].dtype).toBe('float32');
    expect(bb['layers.0.downsample.norm_layer.num_batches_tracked'].dataSync()[0]).toBe(1234);
    tf.dispose(Object.values(bb));
    await expect(loadStateDictFile(file, { prefix: 'nothing.' })).rejects.toThrow(/retinanet_tiny\.pth: no weights start with 'nothing\.'/);
  });

  test('lazy reading: loadStateDictFile with a prefix never reads the records it drops', async () => {
    // Corrupt the last storage record (a bbox_head tensor): a full read hits its CRC error, a backbone-only one does not.
    const src = path.join(ref, 'detection/retinanet_tiny.pth');
    const eager = readPth(src) as { state_dict: Record<string, TorchTensor> };
    const lazy = readPth(src, { lazy: true }) as { state_dict: Record<string, TorchTensor> };
    const k = 'bbox_head.retina_reg.weight';
    expect(Buffer.from(lazy.state_dict[k].data.buffer).equals(Buffer.from(eager.state_dict[k].data.buffer))).toBe(true);

    const unzipped = unzipSync(fs.readFileSync(src));
    const last = Object.keys(unzipped).filter((n) => /\/data\/\d+$/.test(n)).sort((a, b) => Number(a.split('/').pop()) - Number(b.split('/').pop())).pop()!;
    const buf = Buffer.from(fs.readFileSync(src));
    const hdr = buf.indexOf(Buffer.from(last)) - 30; // the member's local header (name at +30)
    expect(buf.readUInt32LE(hdr)).toBe(0x04034b50);
    buf[hdr + 30 + buf.readUInt16LE(hdr + 26) + buf.readUInt16LE(hdr + 28)] ^= 0xff; // first data byte
    const file = path.join(tmp, 'retina_bad_head.pth');
    fs.writeFileSync(file, buf);
    expect(() => readPth(file)).toThrow(new RegExp(`retina_bad_head\\.pth: CRC mismatch in member '${last}'`));
    const bb = await loadStateDictFile(file, { prefix: 'backbone.' });
    expect(Object.keys(bb).length).toBeGreaterThan(50);
    tf.dispose(Object.values(bb));
    await expect(loadStateDictFile(file)).rejects.toThrow(/CRC mismatch/);
  });

  test('loadStateDictFile unwraps `model` and strips `module.`', async () => {
    // Re-pack dtm_wrapped.pth with DataParallel-style keys by editing the pickle's key strings.
    const src = unzipSync(fs.readFileSync(path.join(litFix, 'dtm_wrapped.pth')));
    const files: Zippable = {};
    for (const [n, b] of Object.entries(src)) {
      if (n.endsWith('data.pkl')) {
        // BINUNICODE 'dconv.bias' (len 10) -> 'module.dconv.bias' (len 17)
        const old = Buffer.from(binunicode('dconv.bias'));
        const buf = Buffer.from(b);
        const at = buf.indexOf(old);
        expect(at).toBeGreaterThan(0);
        files[n.replace('dtm_wrapped', 'wrapped2')] = new Uint8Array(Buffer.concat([buf.subarray(0, at), binunicode('module.dconv.bias'), buf.subarray(at + old.length)]));
      } else {
        files[n.replace('dtm_wrapped', 'wrapped2')] = b;
      }
    }
    const file = writeZip('wrapped2.pth', files);
    const sd = await loadStateDictFile(file);
    expect(sd['dconv.bias'].shape).toEqual([32]);
    expect(sd['dconv.weight'].shape).toEqual([32, 16, 2, 2]);
    tf.dispose(Object.values(sd));
  });

  test('deflate-compressed archives (other writers) read the same as stored ones', () => {
    const src = unzipSync(fs.readFileSync(path.join(litFix, 'dtm_wrapped.pth')));
    const renamed: Zippable = {};
    for (const [n, b] of Object.entries(src)) renamed[n.replace(/^dtm_wrapped\//, 'archive/')] = b;
    const file = writeZip('deflated.pth', renamed, 6);
    const a = (readPth(file) as Record<string, Record<string, TorchTensor>>).model;
    const b = (readPth(path.join(litFix, 'dtm_wrapped.pth')) as Record<string, Record<string, TorchTensor>>).model;
    expect(Object.keys(a)).toEqual(Object.keys(b));
    const bytes = (t: TorchTensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (const k of Object.keys(b)) expect(bytes(a[k]).equals(bytes(b[k]))).toBe(true);
  });
});

describe('readPth: refuses code and bad files', () => {
  // [label, global named in the error, pickle bytes given the path a successful exploit would create]
  const evilCases: [string, string, (m: string) => Uint8Array][] = [
    ['GLOBAL+REDUCE', 'os.system', (m) => pkl([0x80, 2], 'cos\nsystem\n', binunicode(`touch ${m}`), [0x85], 'R.')],
    ['posix', 'posix.system', (m) => pkl([0x80, 2], 'cposix\nsystem\n', binunicode(`touch ${m}`), [0x85], 'R.')],
    ['py2 builtins', 'builtins.eval', (m) => pkl([0x80, 2], 'c__builtin__\neval\n', binunicode(`__import__('os').system('touch ${m}')`), [0x85], 'R.')],
    ['STACK_GLOBAL', 'subprocess.Popen', (m) => pkl([0x80, 4], binunicode('subprocess'), binunicode('Popen'), [0x93], ']', binunicode('touch'), 'a', binunicode(m), 'a', [0x85], 'R.')],
    ['INST', 'os.system', (m) => pkl('(', binunicode(`touch ${m}`), 'ios\nsystem\n.')],
    ['getattr gadget', 'builtins.getattr', () => pkl([0x80, 2], 'cbuiltins\ngetattr\n', ')R.')],
  ];
  test.each(evilCases)('%s calling %s is refused, naming the global, without running anything', (label, global, make) => {
    const marker = path.join(tmp, `pwned-${label.replace(/\W+/g, '_')}`);
    const file = writeZip(`evil-${label.replace(/\W+/g, '_')}.pth`, { 'evil/data.pkl': make(marker), 'evil/version': new Uint8Array(Buffer.from('3\n')) });
    expect(() => readPth(file)).toThrow(new RegExp(`evil-.*\\.pth: refusing to load: the pickle references '${global.replace('.', '\\.')}'`));
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('unknown but harmless classes become inert placeholders', () => {
    const bytes = pkl([0x80, 2], '}', binunicode('args'), 'cargparse\nNamespace\n)', [0x81], '}', binunicode('lr'), 'G', [0x3f, 0x50, 0x62, 0x4d, 0xd2, 0xf1, 0xa9, 0xfc], 'sbs.');
    const file = writeZip('ns.pth', { 'x/data.pkl': bytes });
    expect(readPth(file)).toEqual({ args: { __class__: 'argparse.Namespace', lr: 0.001 } });
  });

  test('legacy, truncated and corrupt files give clear errors naming the file', () => {
    const legacy = path.join(tmp, 'legacy.pth');
    fs.writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    expect(() => readPth(legacy)).toThrow(/legacy\.pth: legacy \(pre-1\.6, non-zip\) torch\.save format is not supported.*torch\.save\(torch\.load\(f, map_location='cpu', weights_only=True\)/);

    const full = fs.readFileSync(path.join(litFix, 'litv2_tiny.pth'));
    const truncated = path.join(tmp, 'truncated.pth');
    fs.writeFileSync(truncated, full.subarray(0, full.length >> 1));
    expect(() => readPth(truncated)).toThrow(/truncated\.pth: .*(truncated|end-of-central-directory)/);

    const corrupt = path.join(tmp, 'corrupt.pth');
    const bad = Buffer.from(full);
    bad[200_000] ^= 0xff; // inside a tensor record
    fs.writeFileSync(corrupt, bad);
    expect(() => readPth(corrupt)).toThrow(/corrupt\.pth: CRC mismatch in member 'litv2_tiny\/data\/\d+'/);

    expect(() => readPth(path.join(tmp, 'missing.pth'))).toThrow(/checkpoint not found: .*missing\.pth/);
  });
});

describe('tensor helpers', () => {
  test('non-contiguous views are gathered in C order; contiguous ones share the storage', () => {
    const storage = new Float32Array([0, 1, 2, 3, 4, 5, 6]);
    // transpose of a 2x3 row-major matrix stored from offset 1
    expect([...(viewStorage(storage, 1, [3, 2], [1, 3]) as Float32Array)]).toEqual([1, 4, 2, 5, 3, 6]);
    const v = viewStorage(storage, 2, [2, 2], [2, 1]) as Float32Array;
    expect([...v]).toEqual([2, 3, 4, 5]);
    expect(v.buffer).toBe(storage.buffer);
    expect(() => viewStorage(storage, 4, [2, 2], [2, 1])).toThrow(/exceeds its storage/);
  });

  test('float16 / bfloat16 / int64 convert to float32 exactly', () => {
    const half = new TorchTensor('float16', [5], new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]));
    expect([...torchToFloat32(half)]).toEqual([1, -2, Math.fround(0.333251953125), 2 ** -24, Infinity]);
    const f = new Float32Array([3.14159, -1e-20, 65504.5]);
    const hi = new Uint16Array(f.length);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < f.length; i++) hi[i] = u[i] >>> 16;
    const bf = torchToFloat32(new TorchTensor('bfloat16', [3], hi));
    for (let i = 0; i < f.length; i++) expect(new Uint32Array(bf.buffer)[i]).toBe((u[i] & 0xffff0000) >>> 0);
    expect([...torchToFloat32(new TorchTensor('int64', [2], new BigInt64Array([7n, -3n])))]).toEqual([7, -3]);
  });
});
