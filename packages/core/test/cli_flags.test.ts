import { parseArgs, splitTask, toolFlags, exitCodeOf, UsageError, type ToolFlagSpec } from '../src/node';

const spec: ToolFlagSpec = {
  allowed: ['config', 'checkpoint', 'cfg-options', 'image', 'out', 'score-thr', 'iters', 'json'],
  usage: '--config NAME --checkpoint FILE --image IMG [--out OUT.png]',
};
const flags = (argv: string[], s: ToolFlagSpec = spec) => toolFlags(parseArgs(argv), s);
const usageError = (f: () => unknown): UsageError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
};

test('parseArgs keeps every value of a repeated flag; flags keeps the last one as before', () => {
  const a = parseArgs(['--image', 'a.jpg', '--json', '--image=b.jpg', '--image', 'c.jpg']);
  expect(a.flags).toEqual({ image: 'c.jpg', json: true });
  expect(a.occurrences).toEqual({ image: ['a.jpg', 'b.jpg', 'c.jpg'], json: [true] });
});

test('toolFlags: typed getters over parseArgs, built-in fields included', () => {
  const f = flags(['--config', 'c', '--checkpoint=w.pth', '--image', 'a', '--image', 'b', '--score-thr', '0.5', '--json', '--cfg-options', 'x=1']);
  expect(f.string('config', { required: true })).toBe('c');
  expect(f.string('checkpoint')).toBe('w.pth');
  expect(f.strings('image')).toEqual(['a', 'b']);
  expect(f.number('score-thr', 0.3)).toBe(0.5);
  expect(f.number('iters', 3, { integer: true })).toBe(3);
  expect(f.number('iters')).toBeUndefined();
  expect(f.string('out')).toBeUndefined();
  expect(f.strings('out')).toEqual([]);
  expect(f.bool('json')).toBe(true);
  expect(f.cfgOptions).toEqual(['x=1']);
  expect(flags(['--json=false']).bool('json')).toBe(false);
  expect(flags([]).bool('json')).toBe(false);
  // reading a flag the tool did not declare is a programming error, not a usage error
  expect(() => f.string('resume')).toThrow(/not in the allowed list/);
});

test('toolFlags: unknown, missing and malformed flags give a usage error naming the flag', () => {
  expect(usageError(() => flags(['--imgae', 'a'])).message).toBe(
    "unknown option '--imgae' (did you mean '--image'?); usage: --config NAME --checkpoint FILE --image IMG [--out OUT.png]",
  );
  // parseArgs's own fields are checked too
  expect(usageError(() => flags(['--work-dir', 'w'])).message).toMatch(/^unknown option '--work-dir';/);
  expect(usageError(() => flags(['--zzzzzz'])).message).not.toMatch(/did you mean/);
  expect(usageError(() => flags(['stray.jpg'])).message).toMatch(/^unexpected argument 'stray.jpg'; usage:/);
  expect(flags(['stray.jpg'], { ...spec, positional: true }).positional).toEqual(['stray.jpg']);
  expect(usageError(() => flags([]).string('checkpoint', { required: true })).message).toBe(
    'missing --checkpoint; usage: --config NAME --checkpoint FILE --image IMG [--out OUT.png]',
  );
  expect(usageError(() => flags([]).strings('image', { required: true })).message).toMatch(/^missing --image;/);
  expect(usageError(() => flags(['--out', 'a', '--out', 'b']).string('out')).message).toMatch(/^--out given 2 times; it takes one value;/);
  expect(usageError(() => flags(['--out', '--json']).string('out')).message).toMatch(/^--out needs a value;/);
  expect(usageError(() => flags(['--image']).strings('image')).message).toMatch(/^--image needs a value;/);
  expect(usageError(() => flags(['--iters', 'x']).number('iters', 3)).message).toMatch(/^--iters expects a number \(got 'x'\);/);
  expect(usageError(() => flags(['--iters', '1.5']).number('iters', 3, { integer: true })).message).toMatch(/^--iters expects an integer \(got '1.5'\)/);
  expect(usageError(() => flags(['--iters', '0']).number('iters', 3, { integer: true, min: 1 })).message).toMatch(/^--iters expects an integer >= 1 \(got '0'\)/);
  expect(usageError(() => flags(['--json', 'maybe']).bool('json')).message).toMatch(/^--json takes no value \(got 'maybe'\);/);
  expect(usageError(() => flags([]).fail('give one of --image or --tensor')).message).toMatch(/^give one of --image or --tensor; usage: /);
});

test('splitTask takes --task out of argv; exitCodeOf tells usage errors from runtime errors', () => {
  expect(splitTask(['--config', 'c', '--task', 'detection', '--iters', '1'])).toEqual({ task: 'detection', rest: ['--config', 'c', '--iters', '1'] });
  expect(splitTask(['--task=segmentation', '--size', '128'])).toEqual({ task: 'segmentation', rest: ['--size', '128'] });
  expect(splitTask(['--config', 'c'])).toEqual({ task: undefined, rest: ['--config', 'c'] });
  expect(() => splitTask(['--task', '--config', 'c'])).toThrow(UsageError);
  expect(exitCodeOf(new UsageError('x'))).toBe(2);
  expect(exitCodeOf(new Error('x'))).toBe(1);
});
