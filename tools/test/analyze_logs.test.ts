import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '@litv2/core/node';
import { main } from '../analysis/analyze_logs';

function writeLog(dir: string, name: string, lossScale: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let it = 10; it <= 40; it += 10) lines.push(JSON.stringify({ mode: 'train', epoch: 1, iter: it, inner_iter: it, lr: 1e-4, loss: lossScale / it, loss_cls: lossScale / (2 * it) }));
  lines.push(JSON.stringify({ mode: 'val', epoch: 1, iter: 40, bbox_mAP: 0.3 * lossScale }));
  fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
}

test('analyze-logs plot: two work dirs -> PNG + SVG with one line per run and key; usage errors', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-analyze-'));
  writeLog(path.join(root, 'a'), '20260101_000000.log.jsonl', 1);
  writeLog(path.join(root, 'b'), '20260101_000000.log.jsonl', 2);
  const out = path.join(root, 'plots', 'curves.png');
  const logs: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((l: string) => void logs.push(l));
  try {
    expect(await main(['plot', path.join(root, 'a'), path.join(root, 'b'), '--keys', 'loss,bbox_mAP', '--legend', 'base,big', '--out', out])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  expect(logs[0]).toMatch(/^4 curve\(s\) of loss, bbox_mAP from 2 run\(s\)/);
  const svg = fs.readFileSync(path.join(root, 'plots', 'curves.svg'), 'utf8');
  expect((svg.match(/<g class="mark-line role-mark/g) ?? []).length).toBe(4);
  for (const label of ['base: loss', 'big: loss', 'base: bbox_mAP', 'big: bbox_mAP']) expect(svg).toContain(`>${label}</text>`);
  expect(fs.readFileSync(out).subarray(1, 4).toString()).toBe('PNG');

  await expect(main(['plot'])).rejects.toThrow(UsageError);
  await expect(main(['plot', path.join(root, 'a'), '--legend', 'x,y'])).rejects.toThrow(/--legend has 2 label\(s\) for 1 log\(s\)/);
  await expect(main(['draw', 'x'])).rejects.toThrow(/expected a command 'plot' or 'keys', got 'draw'/);
  await expect(main(['plot', path.join(root, 'nowhere')])).rejects.toThrow(/nowhere: no such log file or work dir/);
});
