// Starts the real `parley serve` for a browser test or benchmark: a home of its own (with the
// operator, the retailer and the supplier, each with a token) and the demo's data under a data
// root, on a free loopback port. stop() ends the server; it is also ended when this process
// exits, however it exits.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

export const parley = process.env.PARLEY_BIN || resolve('build/debug/src/cli/parley');
export const consoleDir = process.env.PARLEY_CONSOLE_DIR || resolve(new URL('../dist', import.meta.url).pathname);
export const chromium = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

const PG_BIN = '/usr/lib/postgresql/15/bin';

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

// A PostgreSQL 15 server of the test's own on a free loopback port (run as the `postgres` user
// when the test runs as root), with `crm.members` (hashed_email, tier) of `rows` rows, and a
// pg_service.conf whose entry `supplier:warehouse` points at it — what a server's operator sets
// up for an organisation's federated tables (docs/postgres.md). stop() stops it and removes it.
export async function startPostgres({ rows = 2500 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-console-pg-'));
  const asServer = (args) => {
    const argv = process.getuid && process.getuid() === 0 ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', ...args]]
      : [args[0], args.slice(1)];
    return execFileSync(argv[0], argv[1], { cwd: '/', encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (process.getuid && process.getuid() === 0) execFileSync('chown', ['postgres', dir]);
  const port = await freePort();
  asServer([`${PG_BIN}/initdb`, '-D', `${dir}/data`, '-U', 'postgres', '--auth-local=trust',
            '--auth-host=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  asServer([`${PG_BIN}/pg_ctl`, '-D', `${dir}/data`, '-o',
            `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', `${dir}/log`,
            '-w', '-t', '60', 'start']);
  const stop = () => {
    try { asServer([`${PG_BIN}/pg_ctl`, '-D', `${dir}/data`, '-m', 'fast', '-w', 'stop']); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  // The same hashed e-mails as the demo's loyalty data for the shared members.
  asServer([`${PG_BIN}/psql`, '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1',
            '-c', 'CREATE SCHEMA crm; CREATE TABLE crm.members (hashed_email text, tier text); ' +
                  `INSERT INTO crm.members SELECT md5('member' || i), CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END ` +
                  `FROM generate_series(1, ${rows}) AS i;`]);
  const serviceFile = join(dir, 'pg_service.conf');
  writeFileSync(serviceFile, `[supplier:warehouse]\nhost=127.0.0.1\nport=${port}\ndbname=postgres\nuser=postgres\n`);
  return {
    port, serviceFile,
    stop() { process.removeListener('exit', stop); stop(); },
  };
}

// `prepare({ root, home, data })`, when given, runs after the home and the data root exist and
// before the server starts (the console benchmark populates the home there).
export async function startServer({ households = 3000, members = 2500, shared = 2000, keep = false,
                                    env = {}, prepare = null } = {}) {
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

  if (prepare) await prepare({ root, home, data });

  const server = spawn(parley, ['--home', home, 'serve', '--listen', '127.0.0.1:0',
                                '--data-root', data, '--console', consoleDir],
                       { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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
