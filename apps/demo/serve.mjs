// Static server for the built demo: `node apps/demo/serve.mjs [--port 8080] [dir]` (nx: `nx run demo:serve`,
// which builds first). Serves files only; the model runs in the page.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json', '.png': 'image/png' };

export function serveDir(dir, port = 0) {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, path.normalize(rel));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const pi = args.indexOf('--port');
  const port = pi >= 0 ? Number(args.splice(pi, 2)[1]) : 8080;
  const dir = path.resolve(args[0] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist'));
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    console.error(`demo:serve: ${dir}/index.html not found (run nx run demo:build)`);
    process.exit(1);
  }
  const server = await serveDir(dir, port);
  console.log(`demo at http://127.0.0.1:${server.address().port}/ (serving ${dir})`);
}
