/**
 * A restricted reader of Python pickles, enough for PyTorch state dicts and nothing else. It never calls anything
 * named by the pickle: each `GLOBAL` must be on an allow-list of *descriptions* (an OrderedDict, a tensor rebuilt
 * from a storage, a storage type of float32/float16/bfloat16/int64), and `REDUCE` only builds those plain values.
 * Any other global (`os.system`, `builtins.eval`, …) or opcode (INST, OBJ, NEWOBJ, EXT…) is refused with an error
 * naming it, before anything could run — this reader has no way to run code at all.
 */

/** A storage type a state dict may reference, by its torch class name. */
export const STORAGE_DTYPES = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
} as const;

export type StorageDType = (typeof STORAGE_DTYPES)[keyof typeof STORAGE_DTYPES];

/** A reference to a storage, as the pickle's persistent id names it. */
export interface StorageRef {
  kind: 'storage';
  dtype: StorageDType;
  key: string;
  location: string;
  /** Size field of the persistent id (elements, or bytes in some torch versions; informational). */
  size: number;
}

/** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`, not executed: recorded. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** A global the pickle named (only allow-listed ones get this far). */
interface GlobalRef {
  kind: 'global';
  name: 'OrderedDict' | 'rebuild_tensor_v2' | StorageClassName;
}

type StorageClassName = keyof typeof STORAGE_DTYPES;

/** Values the reader can produce. Dicts (plain and ordered) are Maps; tuples and lists are arrays. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | StorageRef
  | TensorRef
  | GlobalRef;

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/** Thrown for anything this reader refuses or cannot parse. */
export class PickleError extends Error {}

function allowedGlobal(module: string, name: string): GlobalRef {
  if (module === 'collections' && name === 'OrderedDict') return { kind: 'global', name: 'OrderedDict' };
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return { kind: 'global', name: 'rebuild_tensor_v2' };
  if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name))
    return { kind: 'global', name: name as StorageClassName };
  throw new PickleError(
    `refused: the pickle names the global '${module}.${name}', which a state dict does not need ` +
      '(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.{Float,Half,BFloat16,Long}Storage); nothing was executed',
  );
}

function isGlobal(v: unknown, name?: GlobalRef['name']): v is GlobalRef {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as GlobalRef).kind === 'global' &&
    (!name || (v as GlobalRef).name === name)
  );
}

function asInt(v: PickleValue, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  throw new PickleError(`${what}: expected an integer, got ${describe(v)}`);
}

function asIntTuple(v: PickleValue, what: string): number[] {
  if (!Array.isArray(v)) throw new PickleError(`${what}: expected a tuple of integers, got ${describe(v)}`);
  return v.map((x, i) => asInt(x, `${what}[${i}]`));
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `tuple of ${v.length}`;
  if (v instanceof Map) return 'dict';
  if (typeof v === 'object') return (v as { kind?: string }).kind ?? 'object';
  return typeof v;
}

/**
 * Parses a pickle (protocols 2–5) into plain values. `persistentLoad` resolves BINPERSID ids (a tuple); it receives
 * the id with its storage type already resolved to a dtype.
 */
export function readPickle(
  bytes: Uint8Array,
  persistentLoad: (pid: PickleValue[]) => PickleValue,
  start = 0,
): { value: PickleValue; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = start;
  const need = (n: number) => {
    if (pos + n > bytes.length)
      throw new PickleError(`pickle ends early (needs ${n} bytes at ${pos} of ${bytes.length}; truncated?)`);
  };
  const u8 = () => {
    need(1);
    return bytes[pos++];
  };
  const u16 = () => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError(`length ${v} too large`);
    return Number(v);
  };
  const raw = (n: number) => {
    need(n);
    const v = bytes.subarray(pos, pos + n);
    pos += n;
    return v;
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError('pickle ends inside a GLOBAL name');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError('pickle stack underflow (corrupt)');
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError('pickle stack underflow (corrupt)');
    return v;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError('pickle has no MARK where one is needed (corrupt)');
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d: PickleValue, items: PickleValue[]) => {
    if (!(d instanceof Map)) throw new PickleError(`SETITEM(S) on a ${describe(d)}, not a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const reduce = (fn: PickleValue, args: PickleValue): PickleValue => {
    if (!Array.isArray(args)) throw new PickleError('REDUCE without an argument tuple (corrupt)');
    if (isGlobal(fn, 'OrderedDict')) {
      if (args.length !== 0) throw new PickleError('OrderedDict(...) with arguments is not supported');
      return new Map();
    }
    if (isGlobal(fn, 'rebuild_tensor_v2')) {
      if (args.length < 4) throw new PickleError('_rebuild_tensor_v2 with fewer than 4 arguments');
      const storage = args[0] as StorageRef;
      if (!storage || (storage as { kind?: string }).kind !== 'storage') {
        throw new PickleError(`_rebuild_tensor_v2: first argument is a ${describe(storage)}, not a storage`);
      }
      return {
        kind: 'tensor',
        storage,
        offset: asInt(args[1], 'tensor storage offset'),
        shape: asIntTuple(args[2], 'tensor size'),
        stride: asIntTuple(args[3], 'tensor stride'),
      };
    }
    throw new PickleError(
      `refused: REDUCE applied to ${isGlobal(fn) ? `'torch.${fn.name}'` : `a ${describe(fn)}`}; a state dict does not need it`,
    );
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(allowedGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw new PickleError('STACK_GLOBAL without two strings');
        stack.push(allowedGlobal(module, name));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new PickleError(`memo key ${k} was never stored (corrupt)`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(raw(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(raw(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(raw(u64())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(raw(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(raw(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(raw(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(raw(u32())));
        break;
      case 0x47: {
        // BINFLOAT (big-endian)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid)) throw new PickleError(`persistent id is a ${describe(pid)}, not a tuple`);
        stack.push(persistentLoad(pid));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(reduce(pop(), args));
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
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw new PickleError('APPEND to a non-list');
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw new PickleError('APPENDS to a non-list');
        l.push(...items);
        break;
      }
      case 0x62: {
        // BUILD: only the `_metadata` state torch attaches to a state dict's OrderedDict (kept, unused)
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map) || !(state instanceof Map || state === null)) {
          throw new PickleError(`refused: BUILD on a ${describe(obj)}; a state dict does not need it`);
        }
        break;
      }
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        throw new PickleError(
          `refused: pickle opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') at byte ${at} is not one a state dict needs`,
        );
    }
  }
}

/** Resolves a persistent id `('storage', <storage class>, key, location, size)` to a {@link StorageRef}. */
export function storageFromPid(pid: PickleValue[]): StorageRef {
  const [tag, type, key, location, size] = pid;
  if (tag !== 'storage') throw new PickleError(`persistent id '${String(tag)}' is not a storage`);
  if (!isGlobal(type) || !Object.hasOwn(STORAGE_DTYPES, type.name)) {
    throw new PickleError(`persistent id names a ${describe(type)}, not a storage type`);
  }
  return {
    kind: 'storage',
    dtype: STORAGE_DTYPES[type.name as StorageClassName],
    key: String(key),
    location: String(location),
    size: typeof size === 'number' ? size : Number(size),
  };
}
