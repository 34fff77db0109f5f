// Starts the real `parley serve` for a browser test or benchmark: a home of its own (with the
// operator, the retailer and the supplier, each with a token) and the demo's data under a data
// root, on a free loopback port. stop() ends the server; it is also ended when this process
// exits, however it exits.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

export const parley = process.env.PARLEY_BIN || resolve('build/debug/src/cli/parley');
export const consoleDir = process.env.PARLEY_CONSOLE_DIR || resolve(new URL('../dist', import.meta.url).pathname);
export const chromium = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

export async function startServer({ households = 3000, members = 2500, shared = 2000, keep = false } = {}) {
  const root = mkdtempSync(join(process.env.PARLEY_TEST_TMP || tmpdir(), 'parley-console-'));
  const home = join(root, 'home');
  const data = join(root, 'data');
  const run = (...args) => execFileSync(parley, args, { cwd: root, encoding: 'utf8' });
  run('--home', home, 'serve', 'init', '--save-token', join(root, 'operator.token'));
  run('--home', join(root, 'demo'), 'demo', '--households', String(households),
      '--supplier-members', String(members), '--shared', String(shared));
  mkdirSync(join(data, 'retailer'), { recursive: true });
  mkdirSync(join(data, 'supplier'), { recursive: true });
  copyFileSync(join(root, 'demo/demo-data/retail.parquet'), join(data, 'retailer/retail.parquet'));
  copyFileSync(join(root, 'demo/demo-data/loyalty.parquet'), join(data, 'supplier/loyalty.parquet'));

  const server = spawn(parley, ['--home', home, 'serve', '--listen', '127.0.0.1:0',
                                '--data-root', data, '--console', consoleDir],
                       { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => { try { server.kill('SIGTERM'); } catch { /* gone */ } };
  process.on('exit', kill);
  let log = '';
  server.stderr.on('data', (chunk) => { log += chunk; });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`parley serve did not start: ${out}${log}`)), 20000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) { clearTimeout(timer); resolveUrl(match[1]); }
    });
    server.on('exit', (code) => reject(new Error(`parley serve exited (${code}): ${out}${log}`)));
  });
  const tokens = {};
  for (const org of ['retailer', 'supplier']) {
    const file = join(root, `${org}.token`);
    run('--server', url, '--token-file', join(root, 'operator.token'), 'org', 'add', org,
        '--save-token', file);
    tokens[org] = readFileSync(file, 'utf8').trim();
  }
  return {
    url, root, data, tokens, log: () => log,
    async stop() {
      process.removeListener('exit', kill);
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        kill();
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (server.exitCode === null) server.kill('SIGKILL');
      }
      if (!keep) rmSync(root, { recursive: true, force: true });
    },
  };
}

// The API as a script calls it, with a bearer token: what the console shows is checked against it.
export async function api(server, org, method, path, body) {
  const response = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${server.tokens[org]}`,
               ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: await response.json() };
}
