/**
 * A safe reader for the pickle subset `torch.save` writes (protocols 0-5, binary opcodes in full, the text
 * ones that are cheap). Nothing named by a pickle is ever called: globals resolve to `PickleGlobal`
 * references, allow-listed ones are interpreted by small JS functions (`reducers`), known-dangerous ones
 * are refused outright, and anything else becomes an inert placeholder object `{ __class__: 'mod.Name' }`.
 */
import { latin1 } from './byte_source';


/** A `module.name` reference read from a pickle; never resolved to code. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Interprets one allow-listed global when it is called (REDUCE / NEWOBJ) with `args`. */
export type PickleReducer = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** Named in error messages. */
  file: string;
  /** Resolves BINPERSID / PERSID ids (torch: storages). Without it such ids are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Extra allow-listed callables by qualified name (`torch._utils._rebuild_tensor_v2`). */
  reducers?: Record<string, PickleReducer>;
}

// Python 2 spellings used by protocol-2 pickles.
const MODULE_ALIASES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg', exceptions: 'builtins' };

const DANGEROUS_MODULES = new Set([
  'os', 'posix', 'nt', 'posixpath', 'ntpath', 'subprocess', 'sys', 'shutil', 'socket', 'importlib', 'runpy', 'pty',
  'ctypes', 'pickle', '_pickle', 'cPickle', 'marshal', 'code', 'codeop', 'commands', 'webbrowser', 'multiprocessing',
  'threading', '_thread', 'signal', 'io', '_io', 'pathlib', 'tempfile', 'asyncio', 'platform', 'popen2', 'pdb',
  'timeit', 'operator', 'functools', 'types', 'inspect', 'torch.hub', 'torch.jit', 'numpy.testing', 'numpy.f2py', 'numpy.distutils', 'pip', 'setuptools',
]);
const SAFE_BUILTINS = new Set(['set', 'frozenset', 'list', 'tuple', 'dict', 'bytearray', 'bytes', 'slice', 'complex', 'object', 'int', 'float', 'str', 'bool', 'range']);

/** True for globals whose only plausible use in a pickle is running code (os.system, builtins.eval, ...). */
export function isDangerousGlobal(module: string, name: string): boolean {
  const parts = module.split('.');
  for (let i = 1; i <= parts.length; i++) if (DANGEROUS_MODULES.has(parts.slice(0, i).join('.'))) return true;
  if (module === 'builtins') return !SAFE_BUILTINS.has(name);
  return false;
}

function toSet(args: unknown[]): unknown[] {
  const items = args[0];
  return Array.isArray(items) ? [...items] : [];
}

const BUILTIN_REDUCERS: Record<string, PickleReducer> = {
  'collections.OrderedDict': (args) => {
    const d = newDict();
    // OrderedDict([(k, v), ...]) form; torch writes OrderedDict() then SETITEMS.
    const items = args[0];
    if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) setKey(d, kv[0], kv[1]);
    return d;
  },
  'builtins.set': toSet,
  'builtins.frozenset': toSet,
  'builtins.list': toSet,
  'builtins.tuple': toSet,
  'builtins.dict': () => newDict(),
  'builtins.bytearray': (args) => (args[0] instanceof Uint8Array ? args[0] : new Uint8Array(0)),
  // Protocol 2 encodes bytes as _codecs.encode(latin1_text, 'latin1').
  '_codecs.encode': (args) => {
    const s = typeof args[0] === 'string' ? args[0] : '';
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
  },
  // copyreg._reconstructor(cls, base, state): an instance of a plain (non-reduced) class.
  'copyreg._reconstructor': (args) => {
    const cls = args[0];
    return placeholder(cls instanceof PickleGlobal ? cls.qualifiedName : 'unknown', []);
  },
};

export function newDict(): Record<string, unknown> {
  return {};
}

/** Dict keys become strings; defineProperty so a `__proto__` key cannot touch the prototype. */
export function setKey(obj: Record<string, unknown>, key: unknown, value: unknown): void {
  Object.defineProperty(obj, dictKey(key), { value, enumerable: true, writable: true, configurable: true });
}

function dictKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint') return String(key);
  if (key === null) return 'None';
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  if (Array.isArray(key)) return `(${key.map(dictKey).join(', ')})`;
  if (key instanceof PickleGlobal) return key.qualifiedName;
  return String(key);
}

/** An inert stand-in for an instance of a class outside the allow-list. */
export function placeholder(cls: string, args: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = { __class__: cls };
  if (args.length) o.__args__ = args;
  return o;
}

export function isPlaceholder(v: unknown): v is Record<string, unknown> & { __class__: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { __class__?: unknown }).__class__ === 'string';
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, private readonly fail: (msg: string) => never) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail(`truncated pickle (needs ${n} bytes at offset ${this.pos})`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('length too large');
    return Number(v);
  }
  f64be(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }
  take(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated pickle (unterminated text line)');
    const s = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}

/** Little-endian two's-complement integer (LONG1/LONG4); a number when it fits exactly. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseTextInt(s: string): number | bigint | boolean {
  if (s === '01') return true;
  if (s === '00') return false;
  const t = s.endsWith('L') ? s.slice(0, -1) : s;
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function unquote(s: string): string {
  const q = s[0];
  if ((q === "'" || q === '"') && s.endsWith(q)) s = s.slice(1, -1);
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : ({ n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[e] ?? e,
  );
}

/** Parses a pickle into plain JS values without executing anything it names. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const fail = (msg: string): never => {
    throw new Error(`${opts.file}: ${msg}`);
  };
  const reducers: Record<string, PickleReducer> = { ...BUILTIN_REDUCERS, ...(opts.reducers ?? {}) };
  const r = new Reader(bytes, fail);
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8');

  const pop = (): unknown => {
    if (stack.length === 0) fail(`pickle stack underflow at offset ${r.pos}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`pickle stack underflow at offset ${r.pos}`);
    return stack[stack.length - 1];
  };
  const push = (v: unknown): void => {
    stack.push(v);
  };
  // Note: `stack.push(popMark())` would push onto the stack popMark replaces, hence `push(...)` everywhere.
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) return fail(`pickle MARK missing at offset ${r.pos}`);
    stack = prev;
    return items;
  };
  const makeGlobal = (module: string, name: string): PickleGlobal => {
    module = MODULE_ALIASES[module] ?? module;
    if (isDangerousGlobal(module, name)) {
      fail(
        `refusing to load: the pickle references '${module}.${name}', which could run code. ` +
          'Checkpoints are only parsed, never executed; re-save the weights as a plain state_dict.',
      );
    }
    return new PickleGlobal(module, name);
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    if (!(fn instanceof PickleGlobal)) fail(`pickle calls a non-global object at offset ${r.pos}`);
    const g = fn as PickleGlobal;
    const red = reducers[g.qualifiedName];
    return red ? red(args) : placeholder(g.qualifiedName, args);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (typeof target !== 'object' || target === null || Array.isArray(target) || ArrayBuffer.isView(target)) {
      fail(`SETITEM(S) on a non-dict at offset ${r.pos}`);
    }
    for (let i = 0; i + 1 < items.length; i += 2) setKey(target as Record<string, unknown>, items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) {
      if (isPlaceholder(target)) {
        // list subclass outside the allow-list: keep the items.
        const t = target as Record<string, unknown>;
        t.__items__ = [...((t.__items__ as unknown[]) ?? []), ...items];
        return;
      }
      fail(`APPEND(S) on a non-list at offset ${r.pos}`);
    }
    (target as unknown[]).push(...items);
  };
  const build = (obj: unknown, state: unknown): void => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || ArrayBuffer.isView(obj)) return;
    const o = obj as Record<string, unknown>;
    if (isPlaceholder(o)) {
      // Foreign instance: attributes become keys next to its items (agreed placeholder shape).
      const parts = Array.isArray(state) && state.length === 2 ? state : [state];
      for (const part of parts) {
        if (typeof part === 'object' && part !== null && !Array.isArray(part) && !ArrayBuffer.isView(part)) {
          for (const [k, v] of Object.entries(part)) setKey(o, k, v);
        } else if (part !== null && part !== undefined) {
          setKey(o, '__state__', part);
        }
      }
    } else {
      // A real dict's attributes (OrderedDict._metadata of a state_dict) are not items: keep them hidden.
      Object.defineProperty(o, '__state__', { value: state, enumerable: false, writable: true, configurable: true });
    }
  };

  for (;;) {
    const op = r.u8();
    switch (op) {
      case 0x80: // PROTO
        r.u8();
        break;
      case 0x95: // FRAME
        r.u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`pickle ended with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(r.i32());
        break;
      case 0x4b: // BININT1
        push(r.u8());
        break;
      case 0x4d: // BININT2
        push(r.u16());
        break;
      case 0x8a: // LONG1
        push(decodeLong(r.take(r.u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = r.i32();
        if (n < 0) fail('negative LONG4 length');
        push(decodeLong(r.take(n)));
        break;
      }
      case 0x49: // INT (text)
        push(parseTextInt(r.line()));
        break;
      case 0x4c: // LONG (text)
        push(parseTextInt(r.line()));
        break;
      case 0x46: // FLOAT (text)
        push(parseFloat(r.line()));
        break;
      case 0x47: // BINFLOAT
        push(r.f64be());
        break;
      case 0x58: // BINUNICODE
        push(utf8.decode(r.take(r.u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(r.take(r.u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(r.take(r.u64())));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape)
        push(r.line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
        break;
      case 0x53: // STRING (text, quoted)
        push(unquote(r.line()));
        break;
      case 0x54: // BINSTRING (py2 str: latin1)
        push(latin1(r.take(r.i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1(r.take(r.u8())));
        break;
      case 0x42: // BINBYTES
        push(r.take(r.u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(r.take(r.u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(r.take(r.u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
        push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(newDict());
        break;
      case 0x64: {
        // DICT
        const d = newDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(popMark());
        break;
      case 0x63: {
        // GLOBAL (text "module\nname\n")
        const module = r.line();
        const name = r.line();
        push(makeGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with non-string operands');
        push(makeGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        push(call(fn, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args) -- for allow-listed types same as calling them.
        const args = pop();
        const cls = pop();
        push(call(cls, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        push(call(cls, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x69: {
        // INST (text): module, name, then args since MARK
        const module = r.line();
        const name = r.line();
        const args = popMark();
        push(call(makeGlobal(module, name), args));
        break;
      }
      case 0x6f: {
        // OBJ: MARK cls args...
        const items = popMark();
        push(call(items[0], items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('pickle uses persistent ids but no loader was given');
        push(opts.persistentLoad!(pid));
        break;
      }
      case 0x50: {
        // PERSID (text)
        const pid = r.line();
        if (!opts.persistentLoad) fail('pickle uses persistent ids but no loader was given');
        push(opts.persistentLoad!(pid));
        break;
      }
      case 0x71: // BINPUT
        memo.set(r.u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(r.u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(parseInt(r.line(), 10), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const idx = op === 0x68 ? r.u8() : op === 0x6a ? r.u32() : parseInt(r.line(), 10);
        if (!memo.has(idx)) fail(`pickle memo key ${idx} missing at offset ${r.pos}`);
        push(memo.get(idx));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} at offset ${r.pos - 1}`);
    }
  }
}
