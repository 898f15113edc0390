import { ZipArchive } from './zip';
import { type ByteSource, bytesSource, latin1, u32le } from './byte_source';
import { PickleGlobal, unpickle, type PickleReducer } from './pickle';
import { STORAGE_TYPES, TorchTensor, typedView, viewStorage, type TorchData } from './torch-tensor';

interface Storage {
  dtype: TorchTensor['dtype'];
  /** Reads the record once, on first use. */
  data: () => TorchData;
}

function asInts(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`${file}: malformed tensor ${what}`);
  return v as number[];
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, ...)` and friends, interpreted without torch. */
function tensorReducers(file: string, lazy: boolean): Record<string, PickleReducer> {
  const rebuild: PickleReducer = (args) => {
    const storage = args[0] as Storage;
    if (!storage || typeof storage !== 'object' || typeof storage.data !== 'function') throw new Error(`${file}: tensor without a storage`);
    const offset = typeof args[1] === 'number' ? args[1] : 0;
    const shape = asInts(args[2], 'shape', file);
    const stride = asInts(args[3], 'stride', file);
    const view = (): TorchData => {
      try {
        return viewStorage(storage.data(), offset, shape, stride);
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
    };
    return new TorchTensor(storage.dtype, shape, lazy ? view : view());
  };
  const reducers: Record<string, PickleReducer> = {
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_tensor': rebuild,
    // nn.Parameter(data, requires_grad, hooks[, state]) -> the data tensor.
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
    // Tensor subclasses: _rebuild_from_type_v2(func, type, args, state) -> func(*args).
    'torch._tensor._rebuild_from_type_v2': (args) => {
      const fn = args[0];
      const red = fn instanceof PickleGlobal ? reducers[fn.qualifiedName] : undefined;
      if (!red) throw new Error(`${file}: unsupported tensor rebuild function ${fn instanceof PickleGlobal ? fn.qualifiedName : String(fn)}`);
      return red(Array.isArray(args[2]) ? args[2] : []);
    },
    'torch.Size': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
    'torch.device': (args) => args.map(String).join(':'),
  };
  return reducers;
}

/** Archive members share a top folder (`archive/` in new torch, the file stem in 1.13): find it via data.pkl. */
function findRecordPrefix(zip: ZipArchive): string {
  const pkls = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  const top = pkls.filter((n) => n.split('/').length <= 2);
  if (top.length !== 1) {
    throw new Error(`${zip.file}: not a torch.save archive (${top.length === 0 ? 'no */data.pkl member' : `several data.pkl members: ${top.join(', ')}`})`);
  }
  return top[0].slice(0, top[0].length - 'data.pkl'.length);
}

export interface ReadPthOptions {
  /**
   * Read tensor bytes only when a tensor's `data` is first accessed (the file is re-opened then), so
   * optimizer state or unused weights in a large checkpoint are never read. Default false.
   */
  lazy?: boolean;
}

/** The first bytes of a .pth: refuses the legacy (non-zip) torch.save format and anything not a zip archive. */
export function checkPthHeader(head: Uint8Array, name: string): void {
  if (head[0] === 0x80 && head[1] <= 5) {
    throw new Error(
      `${name}: legacy (pre-1.6, non-zip) torch.save format is not supported. Re-save it with a recent PyTorch, ` +
        "loading with weights_only=True so that no code in the file runs: " +
        "torch.save(torch.load(f, map_location='cpu', weights_only=True), f2)  (zip format is the default since torch 1.6)",
    );
  }
  const magic = head.length >= 4 ? u32le(head, 0) : 0;
  if (magic !== 0x04034b50 && magic !== 0x06054b50) {
    throw new Error(`${name}: not a PyTorch .pth zip archive (unrecognised header)`);
  }
}

/**
 * Parses a `torch.save` zip archive into plain JS: dicts (OrderedDict too) as plain objects, lists/tuples as
 * arrays, ints as numbers (bigint beyond 2^53), tensors as `TorchTensor`. Classes outside the allow-list
 * become inert `{ __class__: 'mod.Name', ... }` objects; globals that could run code are refused.
 * The source is closed before returning (lazy tensors re-open it when first read).
 */
export function parsePth(source: ByteSource, opts: ReadPthOptions = {}): unknown {
  const lazy = opts.lazy ?? false;
  const file = source.name;
  try {
    checkPthHeader(source.byteLength >= 4 ? source.read(0, 4) : new Uint8Array(0), file);
  } catch (e) {
    source.close();
    throw e;
  }
  const zip = new ZipArchive(source);
  try {
    const prefix = findRecordPrefix(zip);
    const byteorder = zip.entries.has(`${prefix}byteorder`) ? latin1(zip.read(`${prefix}byteorder`)).trim() : 'little';
    if (byteorder !== 'little') throw new Error(`${file}: big-endian checkpoints are not supported`);
    const storages = new Map<string, Storage>();
    const persistentLoad = (pid: unknown): Storage => {
      // ('storage', storage_type, key, location, numel)
      if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof PickleGlobal)) {
        throw new Error(`${file}: unsupported persistent id ${JSON.stringify(Array.isArray(pid) ? pid[0] : pid)}`);
      }
      const cls = pid[1] as PickleGlobal;
      const key = String(pid[2]);
      const numel = Number(pid[4]);
      const st = cls.module === 'torch' ? STORAGE_TYPES[cls.name] : undefined;
      if (!st) throw new Error(`${file}: unsupported storage type ${cls.qualifiedName}`);
      let s = storages.get(key);
      if (!s) {
        const member = `${prefix}data/${key}`;
        const entry = zip.entries.get(member);
        if (!entry) throw new Error(`${file}: storage record '${member}' missing (truncated or corrupt archive)`);
        if (entry.size < numel * st.bytes) throw new Error(`${file}: storage '${member}' holds ${entry.size} bytes, expected ${numel * st.bytes}`);
        let data: TorchData | undefined;
        s = {
          dtype: st.dtype,
          data: () => {
            if (!data) {
              const bytes = zip.read(member);
              if (lazy) zip.close();
              data = typedView(st.dtype, bytes.subarray(0, numel * st.bytes));
            }
            return data;
          },
        };
        storages.set(key, s);
      }
      return s;
    };
    return unpickle(zip.read(`${prefix}data.pkl`), { file, persistentLoad, reducers: tensorReducers(file, lazy) });
  } finally {
    zip.close();
  }
}

/** `parsePth` over bytes already in memory (e.g. a fetched checkpoint in the browser). */
export function readPthBytes(bytes: Uint8Array, opts: ReadPthOptions & { name?: string } = {}): unknown {
  return parsePth(bytesSource(bytes, opts.name ?? '<pth bytes>'), opts);
}
