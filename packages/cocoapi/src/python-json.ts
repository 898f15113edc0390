/**
 * JSON as Python's `json.load` reads it: standard JSON plus the bare constants NaN, Infinity and -Infinity
 * (what `json.dump` writes for float('nan') / float('inf')). Only tried after JSON.parse has failed, so
 * ordinary files keep the fast path.
 */
const MARK = '\u0000litv2-nonfinite:';
const CONSTANTS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

export function parsePythonJson(text: string): { ok: true; value: unknown } | { ok: false } {
  // Replace the constants outside strings by marked strings, parse, then turn the marks back into numbers.
  let out = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \ */) i++;
      continue;
    }
    for (const name of ['-Infinity', 'Infinity', 'NaN']) {
      if (text.startsWith(name, i) && !/[A-Za-z0-9_]/.test(text[i + name.length] ?? '')) {
        out += text.slice(last, i) + JSON.stringify(MARK + name);
        i += name.length - 1;
        last = i + 1;
        found = true;
        break;
      }
    }
  }
  if (!found) return { ok: false };
  out += text.slice(last);
  try {
    const value = JSON.parse(out, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(MARK) ? CONSTANTS[v.slice(MARK.length)] : v)) as unknown;
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}
