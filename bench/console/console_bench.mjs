// The console's first paint on loopback (issue 13): a collaboration with 1,000 tables and 10,000
// audit entries, served by the real `parley serve` (release build by default), opened in
// Debian's Chromium. Measured, not asserted: prints first contentful paint and the time until
// the overview, the tables tab and the audit tab show their data, median of --runs fresh loads,
// with each page's API requests and what the browser transferred for it.
//
// The collaboration is written before the server starts by bench/console_populate (the
// service's own use cases on the server's home; --populate names it, default: next to
// --parley's build, BUILD/bench/console_populate). With --url, a running server is measured and
// what is missing is added through the API (slow: about 25 minutes for the full figures).
//
//   node bench/console/console_bench.mjs [--parley build/release/src/cli/parley] [--tables 1000]
//                                        [--audit 10000] [--runs 5] [--populate BIN]
//                                        [--url URL --token-file RETAILER_TOKEN --data DATA_ROOT]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
process.env.PARLEY_BIN = resolve(args.parley || 'build/release/src/cli/parley');
const populate = resolve(args.populate ||
                         join(dirname(process.env.PARLEY_BIN), '../../bench/console_populate'));
const tables = Number(args.tables || 1000);
const auditTarget = Number(args.audit || 10000);
const runs = Number(args.runs || 5);

const here = new URL('../../web/', import.meta.url).pathname;
const require = createRequire(join(here, 'package.json'));
const { chromium: playwright } = require('playwright-core');
const { startServer, api, chromium } = await import(join(here, 'tests/harness.mjs'));

// --url URL --token-file F: measure a server already running (and populated; what is missing is
// added), instead of starting one.
const t0 = Date.now();
const smallCsv = (data) => {
  const csv = join(data, 'retailer', 'small.csv');
  writeFileSync(csv, 'id,band,amount\n1,a,10\n2,b,20\n');
  return csv;
};
const server = args.url
  ? { url: args.url, data: args.data, tokens: { retailer: readFileSync(args['token-file'], 'utf8').trim() },
      stop: async () => {} }
  : await startServer({
    households: 1000, members: 1000, shared: 500,
    prepare: ({ home, data }) => {
      process.stdout.write(execFileSync(populate, [home, 'bench', 'retailer', smallCsv(data),
                                                   String(tables), String(auditTarget)],
                                        { encoding: 'utf8' }));
    },
  });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  const csv = smallCsv(server.data);
  const call = (method, path, body) => api(server, 'retailer', method, path, body);
  const existing = await call('GET', '/api/v1/collaborations/bench/tables');
  if (existing.status === 404) await call('POST', '/api/v1/collaborations', { name: 'bench' });
  const have = new Set(existing.status === 200 ? existing.json.tables.map((t) => t.name) : []);
  const pool = async (count, task) => {
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < count) await task(next++);
    }));
  };
  await pool(tables, async (i) => {
    if (have.has(`t${String(i).padStart(4, '0')}`)) return;
    const answer = await call('POST', '/api/v1/collaborations/bench/tables',
                              { table: `t${String(i).padStart(4, '0')}`, source: csv });
    if (answer.status !== 200) throw new Error(JSON.stringify(answer.json));
  });
  // Then audit entries until there are enough: the only member's change requests commit at once
  // (propose, approved, the change itself, commit: four entries each).
  const count = async () => (await call('GET', '/api/v1/collaborations/bench/audit?limit=1')).json.head_seq;
  let entries = await count();
  while (entries < auditTarget) {
    const batch = Math.min(400, Math.ceil((auditTarget - entries) / 4));
    await pool(batch, (i) => call('POST', '/api/v1/collaborations/bench/changes',
                                  { kind: 'query_logging', query_logging: i % 2 === 0 }));
    entries = await count();
  }
  console.log(`setup: ${tables} tables, ${entries} audit entries, server up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const browser = await playwright.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.getByLabel('API token', { exact: true }).fill(server.tokens.retailer);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
  const figures = { fcp: [], overview: [], tables: [], audit: [] };
  // The API requests each page makes (one page's data should not take one request per item).
  const requests = { overview: new Set(), tables: new Set(), audit: new Set() };
  const timings = {};
  let counting = null;
  page.on('request', (request) => {
    const { pathname, search } = new URL(request.url());
    if (counting && pathname.startsWith('/api/')) requests[counting].add(`${request.method()} ${pathname}${search}`);
  });
  for (let run = 0; run < runs; run++) {
    for (const [key, hash, ready] of [
      ['overview', '#/c/bench', '[data-testid=members]'],
      ['tables', '#/c/bench/tables', '[data-testid=tables] tbody tr'],
      ['audit', '#/c/bench/audit', '[data-testid=audit] tbody tr'],
    ]) {
      // A fresh load in the signed-in tab (its session hint lives in localStorage).
      const fresh = page;
      await fresh.goto('about:blank');
      const start = Date.now();
      counting = key;
      await fresh.goto(`${server.url}/${hash}`);
      await fresh.locator(ready).first().waitFor({ timeout: 60000 });
      figures[key].push(Date.now() - start);
      counting = null;
      // Where the last load's time went: each resource's start and duration, and its bytes on the
      // wire (transferSize: 0 when served from the cache after revalidation).
      timings[key] = await fresh.evaluate(() => performance.getEntriesByType('resource').map((r) =>
        `${new URL(r.name).pathname}${new URL(r.name).search} at ${r.startTime.toFixed(0)} ms took ` +
        `${r.duration.toFixed(0)} ms, ${r.transferSize} B`));
      if (key === 'overview') {
        figures.fcp.push(await fresh.evaluate(() =>
          performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN));
      }
    }
  }
  await browser.close();
  console.log(`first contentful paint (collaboration page): ${median(figures.fcp).toFixed(0)} ms`);
  for (const key of ['overview', 'tables', 'audit']) {
    console.log(`${key} with its data: median ${median(figures[key])} ms ` +
                `(min ${Math.min(...figures[key])}, max ${Math.max(...figures[key])}, ${runs} loads); ` +
                `API requests: ${[...requests[key]].join(', ')}`);
    console.log(`  last load: ${timings[key].join('; ')}`);
  }
} finally {
  await server.stop();
}
