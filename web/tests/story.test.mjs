// The reference story (src/cli/demo.cc) clicked through in real Chromium by two members in two
// browser contexts, against the real `parley serve` on a loopback port: sign in, create the room,
// invite, join, add tables, write rules (validated as typed), a rejected query with its
// highlights, the builder's query whose chart is checked against its data, a total's card,
// template approval, a change request, the audit log; a member cannot reach another's result by
// URL; no console errors, failed requests or unexpected HTTP errors; axe-core finds no serious
// accessibility violation on the main pages. Screenshots of each step go to
// $PARLEY_CONSOLE_ARTIFACTS (the build directory's console-artifacts/ under ctest).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium as playwright } from 'playwright-core';
import { startServer, startPostgres, api, chromium } from './harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const artifacts = process.env.PARLEY_CONSOLE_ARTIFACTS || join(process.cwd(), 'console-artifacts');
mkdirSync(artifacts, { recursive: true });

const RETAIL_RULE = {
  kind: 'aggregation',
  aggregate_columns: [
    { columns: ['household_id'], functions: ['COUNT_DISTINCT'] },
    { columns: ['annual_spend', 'online_spend'], functions: ['SUM', 'AVG'] }],
  join_columns: ['hashed_email'],
  join_required: 'query_runner',
  allowed_join_operators: ['AND'],
  dimension_columns: ['age_band', 'income_bracket', 'household_size', 'region'],
  scalar_functions: ['ROUND'],
  output_constraints: [{ column: 'household_id', minimum: 100, type: 'count_distinct' }],
};
const LOYALTY_RULE = {
  kind: 'aggregation',
  aggregate_columns: [
    { columns: ['hashed_email'], functions: ['COUNT_DISTINCT'] },
    { columns: ['brand_purchases'], functions: ['SUM', 'AVG'] }],
  join_columns: ['hashed_email'],
  dimension_columns: ['loyalty_tier'],
  scalar_functions: ['ROUND'],
  output_constraints: [{ column: 'hashed_email', minimum: 100, type: 'count_distinct' }],
};
const REJECTED = 'SELECT r.hashed_email, r.age_band, COUNT(*)\n' +
  'FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\n' +
  'GROUP BY r.hashed_email, r.age_band';
const PANEL_TEMPLATE = 'SELECT region, COUNT(*) AS households FROM panel\n' +
  'WHERE household_size >= :min_size GROUP BY region ORDER BY region';
// A cross product of three copies of the panel: long enough to be seen running and cancelled.
const SLOW_TEMPLATE = 'SELECT COUNT(*) AS n FROM panel a, panel b, panel c, panel d\n' +
  'WHERE a.household_size + b.household_size + c.household_size + d.household_size > 3';
// A job that draws the panel's households by region (matplotlib, in the sandbox), with the
// counts as CSV and an HTML report whose script must not run in the console.
const JOB_CODE = `import csv, json
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
minimum = int(json.load(open("/in/parameters.json"))["min_size"])
counts = {}
for row in csv.DictReader(open("/in/panel.csv")):
    if int(row["household_size"]) >= minimum:
        counts[row["region"]] = counts.get(row["region"], 0) + 1
regions = sorted(counts)
plt.figure(figsize=(4, 3), dpi=100)
plt.bar(regions, [counts[r] for r in regions])
plt.savefig("/out/regions.png")
with open("/out/regions.csv", "w") as out:
    out.write("region,households\\n" + "".join(f"{r},{counts[r]}\\n" for r in regions))
open("/out/report.html", "w").write("<h1>Households by region</h1>"
    "<script>parent.document.title = 'taken'</script>")
`;
const TOTAL = 'SELECT COUNT(DISTINCT r.household_id) AS households\n' +
  'FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email';

// What went wrong in the browsers, whatever the page: console errors, page errors, failed
// requests, HTTP errors. The story lists the HTTP errors it provokes on purpose (`expected`).
const problems = { console: [], failed: [], http: [] };
const expected = [];
let shots = 0;

function watch(page, who) {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.console.push(`${who}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.console.push(`${who}: page error ${error.message}`));
  page.on('requestfailed', (request) => {
    // A blob: download link that is revoked as the page moves on is not a failed request.
    if (!request.url().startsWith('blob:')) {
      problems.failed.push(`${who}: ${request.method()} ${request.url()} ${request.failure()?.errorText}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.http.push({ who, method: response.request().method(), url: response.url(),
                           status: response.status() });
    }
  });
}

async function shot(page, name) {
  shots += 1;
  await page.screenshot({ path: join(artifacts, `${String(shots).padStart(2, '0')}-${name}.png`),
                          fullPage: true });
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const serious = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(serious.map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), []);
}

async function signIn(page, server, org) {
  await page.goto(server.url + '/');
  await page.getByLabel('API token', { exact: true }).fill(server.tokens[org]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').getByText(org).waitFor();
}

async function addTableWithRule(page, server, org, table, rule, file = `${table}.parquet`) {
  await page.getByRole('link', { name: 'Tables' }).click();
  await page.getByLabel('Table name', { exact: true }).fill(table);
  await page.getByLabel(/Path or glob/).fill(join(server.data, org, file));
  await page.getByRole('button', { name: 'Add table' }).click();
  await page.getByRole('heading', { name: table, level: 1 }).waitFor();
  await page.getByTestId('columns').getByText('hashed_email').waitFor();
  await page.getByLabel('Rule (JSON, docs/rules.md)', { exact: true }).fill(JSON.stringify(rule, null, 2));
  await page.locator('[data-testid=rule-validation][data-state=valid]').waitFor();
  await page.getByRole('button', { name: 'Save rule' }).click();
  await page.getByRole('status').getByText('Saved.').waitFor();
}

test('the reference story in two browsers', { timeout: 360000 }, async (t) => {
  // The supplier's loyalty members also live in its PostgreSQL, read in place through the entry
  // the server's operator set up for it.
  const postgres = await startPostgres();
  const server = await startServer({ env: { PGSERVICEFILE: postgres.serviceFile } });
  const browser = await playwright.launch({ executablePath: chromium, headless: true,
                                            args: ['--no-sandbox'] });
  try {
    const retailerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const supplierContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const retailer = await retailerContext.newPage();
    const supplier = await supplierContext.newPage();
    watch(retailer, 'retailer');
    watch(supplier, 'supplier');
    // Generous: the test machine may be shared with builds (a step that fails waits this long).
    for (const context of [retailerContext, supplierContext]) {
      context.setDefaultTimeout(30000);
      context.setDefaultNavigationTimeout(60000);
    }
    // Steps build on each other: after the first failure the rest are skipped, not timed out.
    let failed = false;
    const step = (name, body) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
      try {
        await body();
      } catch (error) {
        failed = true;
        for (const [who, page] of [['retailer', retailer], ['supplier', supplier]]) {
          await page.screenshot({ path: join(artifacts, `FAILED-${who}.png`), fullPage: true })
            .catch(() => {});
        }
        throw error;
      }
    });
    let code;
    let byAgeId;
    let byAgeSql;

    await step('the retailer signs in and creates the room', async () => {
      await retailer.goto(server.url + '/');
      await shot(retailer, 'sign-in');
      await axe(retailer, 'sign-in');
      await signIn(retailer, server, 'retailer');
      await retailer.getByLabel('Name', { exact: true }).fill('campaign');
      await retailer.getByLabel('Description', { exact: true }).fill('joint ad campaign');
      await retailer.getByRole('button', { name: 'Create' }).click();
      await retailer.getByTestId('members').getByText('retailer (you)').waitFor();
      assert.match(retailer.url(), /#\/c\/campaign$/);
      await shot(retailer, 'created');
    });

    await step('the retailer invites the supplier and sees the one-time code', async () => {
      await retailer.getByRole('textbox', { name: 'Organisation' }).fill('supplier');
      await retailer.getByRole('checkbox', { name: 'run_jobs' }).check();
      await retailer.getByRole('button', { name: 'Invite' }).click();
      code = (await retailer.getByTestId('invite-code').textContent()).trim();
      assert.match(code, /^pi_[0-9a-f]{16}_[0-9a-f]{64}$/);
      await retailer.getByTestId('members').getByText('invited').waitFor();
      await shot(retailer, 'invited');
      await axe(retailer, 'overview');
    });

    await step('the supplier signs in and joins with the code', async () => {
      await signIn(supplier, server, 'supplier');
      await supplier.getByLabel('Invitation code', { exact: true }).fill(code);
      await supplier.getByRole('button', { name: 'Join' }).click();
      await supplier.getByTestId('members').getByText('supplier (you)').waitFor();
      const row = supplier.getByTestId('members').getByRole('row', { name: /supplier/ });
      assert.match(await row.textContent(), /query, receive, run_jobs\s*active/);
      await shot(supplier, 'joined');
    });

    await step('the retailer adds its table; the rule editor validates as it types', async () => {
      await retailer.getByRole('link', { name: 'Tables' }).click();
      await retailer.getByLabel('Table name', { exact: true }).fill('retail');
      await retailer.getByLabel(/Path or glob/).fill(join(server.data, 'retailer/retail.parquet'));
      await retailer.getByRole('button', { name: 'Add table' }).click();
      await retailer.getByRole('heading', { name: 'retail', level: 1 }).waitFor();
      const editor = retailer.getByLabel('Rule (JSON, docs/rules.md)', { exact: true });
      await editor.fill('{"kind": "aggregation", ');
      await retailer.locator('[data-testid=rule-validation][data-state=invalid]').getByText(/not valid JSON/).waitFor();
      const wrong = { ...RETAIL_RULE, dimension_columns: ['age_band', 'shoe_size'] };
      await editor.fill(JSON.stringify(wrong, null, 2));
      const invalid = retailer.locator('[data-testid=rule-validation][data-state=invalid]');
      await invalid.getByText(/shoe_size/).waitFor();
      // The same message the API (and so `parley --json rule set`) gives.
      const direct = await api(server, 'retailer', 'PUT',
                               '/api/v1/collaborations/campaign/tables/retail/rule', { rule: wrong });
      assert.equal(direct.status, 400);
      assert.equal((await invalid.textContent()).trim(), direct.json.error.message);
      expected.push({ method: 'PUT', path: /\/tables\/retail\/rule$/, status: 400 });
      assert.equal(await retailer.getByRole('button', { name: 'Save rule' }).isDisabled(), true);
      await shot(retailer, 'rule-invalid');
      await editor.fill(JSON.stringify(RETAIL_RULE, null, 2));
      await retailer.locator('[data-testid=rule-validation][data-state=valid]').waitFor();
      await retailer.getByRole('button', { name: 'Save rule' }).click();
      await retailer.getByTestId('rule-summary')
        .getByText('Every group needs at least 100 distinct household_id (smaller groups are suppressed).')
        .waitFor();
      await shot(retailer, 'rule-saved');
      await axe(retailer, 'table');
    });

    await step('the retailer uploads a file from its browser with a progress bar', async () => {
      // A few megabytes, so that the upload reports progress on its way.
      const lines = ['hashed_email,visits'];
      for (let i = 0; i < 120000; i += 1) lines.push(`${'e'.repeat(8)}${String(i).padStart(24, '0')},${i % 17}`);
      const bytes = Buffer.from(lines.join('\n') + '\n');
      await retailer.getByRole('link', { name: 'Tables' }).click();
      await retailer.getByLabel('Table name', { exact: true }).fill('visits');
      await retailer.getByLabel('Source', { exact: true }).selectOption('upload');
      await retailer.getByLabel(/File to upload/).setInputFiles({ name: 'visits 2026.csv', mimeType: 'text/csv', buffer: bytes });
      await retailer.getByRole('button', { name: 'Add table' }).click();
      await retailer.getByRole('heading', { name: 'visits', level: 1 }).waitFor();
      await retailer.getByTestId('columns').getByText('visits', { exact: true }).waitFor();
      // The bytes arrived whole, under a plain name, in the retailer's own folder.
      assert.deepEqual(readFileSync(join(server.data, 'retailer', 'visits_2026.csv')), bytes);
      const shown = await api(server, 'retailer', 'GET', '/api/v1/collaborations/campaign/tables/visits');
      assert.deepEqual(shown.json.table.columns.map((c) => c.name), ['hashed_email', 'visits']);
      // The same file again: the name is taken, the server's message is shown, nothing replaced.
      await retailer.getByRole('link', { name: 'Tables' }).click();
      await retailer.getByLabel('Table name', { exact: true }).fill('visits_again');
      await retailer.getByLabel('Source', { exact: true }).selectOption('upload');
      await retailer.getByLabel(/File to upload/).setInputFiles({ name: 'visits 2026.csv', mimeType: 'text/csv', buffer: Buffer.from('x\n1\n') });
      await retailer.getByRole('button', { name: 'Add table' }).click();
      await retailer.locator('[role=alert]', { hasText: /visits_2026\.csv/ }).waitFor();
      expected.push({ method: 'PUT', path: /\/api\/v1\/uploads\/visits_2026\.csv$/, status: 409 });
      assert.deepEqual(readFileSync(join(server.data, 'retailer', 'visits_2026.csv')), bytes);
      await shot(retailer, 'upload-refused');
      await axe(retailer, 'tables-upload');
    });

    await step('the progress bar follows a large upload and ends at its size', async () => {
      const bytes = Buffer.alloc(8 * 1024 * 1024, 'a,b\n1,2\n');
      // The browser's upload throttled to 2 MB/s, so the bar is seen on its way.
      const cdp = await retailerContext.newCDPSession(retailer);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
      await retailer.getByLabel('Table name', { exact: true }).fill('big');
      await retailer.getByLabel(/File to upload/).setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: bytes });
      await retailer.getByRole('button', { name: 'Add table' }).click();
      await retailer.waitForFunction(() => {
        const bar = document.querySelector('[data-testid=upload-progress]');
        return bar && bar.dataset.stage === 'sending' && Number(bar.dataset.sent) > 0 &&
          Number(bar.dataset.sent) < Number(bar.dataset.total);
      });
      const bar = retailer.getByTestId('upload-progress');
      assert.equal(Number(await bar.getAttribute('data-total')), bytes.length);
      assert.match(await bar.getByRole('status').textContent(), /^Uploading: \d+% of 8,388,608 bytes$/);
      await shot(retailer, 'uploading');
      await retailer.getByRole('heading', { name: 'big', level: 1 }).waitFor({ timeout: 30000 });
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await cdp.detach();
      assert.equal(readFileSync(join(server.data, 'retailer', 'big.csv')).length, bytes.length);
    });

    await step('the supplier adds its table and sees the retailer\'s, never its rows', async () => {
      await addTableWithRule(supplier, server, 'supplier', 'loyalty', LOYALTY_RULE);
      await supplier.getByRole('link', { name: 'Tables' }).click();
      await supplier.getByTestId('tables').getByRole('link', { name: 'retail' }).click();
      await supplier.getByTestId('rule-summary').getByText(/May group by age_band/).waitFor();
      assert.equal(await supplier.getByLabel('Rule (JSON, docs/rules.md)', { exact: true }).count(), 0);
      assert.equal(await supplier.getByText(server.data).count(), 0);  // no server path
      await shot(supplier, 'retail-seen-by-supplier');
      await supplier.getByRole('link', { name: 'Tables' }).click();
      await supplier.getByTestId('tables').waitFor();
      await axe(supplier, 'tables');
    });

    await step('the supplier brings in a federated PostgreSQL table, read in place', async () => {
      await supplier.getByRole('link', { name: 'Tables' }).click();
      await supplier.getByLabel('Table name', { exact: true }).fill('members');
      await supplier.getByLabel('Source', { exact: true }).selectOption('postgres');
      await supplier.getByLabel(/^Service entry/).fill('warehouse');
      await supplier.getByLabel('Relation (schema.table)', { exact: true }).fill('crm.members');
      await supplier.getByRole('button', { name: 'Add table' }).click();
      await supplier.getByRole('heading', { name: 'members', level: 1 }).waitFor();
      await supplier.getByTestId('columns').getByText('tier', { exact: true }).waitFor();
      const mine = await api(server, 'supplier', 'GET', '/api/v1/collaborations/campaign/tables/members');
      assert.equal(mine.json.table.kind, 'postgres');
      assert.deepEqual(mine.json.table.columns.map((c) => c.name), ['hashed_email', 'tier']);
      // The retailer sees the table's metadata, never where it lives.
      const theirs = await api(server, 'retailer', 'GET', '/api/v1/collaborations/campaign/tables/members');
      assert.equal(theirs.status, 200);
      assert.equal(JSON.stringify(theirs.json).includes('warehouse'), false);
      await shot(supplier, 'federated-table');
      await axe(supplier, 'federated-table');
    });

    await step('a rejected query shows every violation highlighted in the SQL', async () => {
      await supplier.getByRole('link', { name: 'Analyses' }).click();
      await supplier.getByTestId('schema').getByText('household_id').first().waitFor();
      await supplier.getByLabel('SQL', { exact: true }).fill(REJECTED);
      await supplier.getByRole('button', { name: 'Run' }).click();
      const rejection = supplier.getByTestId('rejection');
      await rejection.waitFor();
      const run = await api(server, 'supplier', 'POST', '/api/v1/collaborations/campaign/explain',
                            { sql: REJECTED });
      const violations = run.json.explanation.violations;
      assert.ok(violations.length >= 1);
      assert.equal(await rejection.getByTestId('violations').locator('li').count(), violations.length);
      const marks = await rejection.locator('mark').allTextContents();
      const positioned = violations.filter((v) => v.position);
      assert.ok(positioned.length >= 1);
      assert.ok(marks.includes('r.hashed_email'), `marks: ${JSON.stringify(marks)}`);
      assert.equal((await rejection.getByTestId('rejected-sql').textContent()), REJECTED);
      await shot(supplier, 'rejected');
      await axe(supplier, 'rejection');
    });

    await step('the builder writes the by-age query; its chart plots the result', async () => {
      await supplier.getByTestId('builder-table').selectOption('retail');
      await supplier.getByTestId('builder-join-table').selectOption('loyalty');
      await supplier.getByTestId('builder-join-left').selectOption('hashed_email');
      await supplier.getByTestId('builder-join-right').selectOption('hashed_email');
      await supplier.getByTestId('dimension-t1.age_band').check();
      await supplier.getByTestId('builder-measure-fn').selectOption('COUNT_DISTINCT');
      await supplier.getByTestId('builder-measure-column').selectOption('t1.household_id');
      await supplier.getByTestId('builder-write').click();
      byAgeSql = await supplier.getByLabel('SQL', { exact: true }).inputValue();
      assert.equal(byAgeSql, 'SELECT t1.age_band, COUNT(DISTINCT t1.household_id) AS distinct_household_id\n' +
        'FROM retail t1\nJOIN loyalty t2 ON t1.hashed_email = t2.hashed_email\n' +
        'GROUP BY t1.age_band\nORDER BY t1.age_band');
      await supplier.getByRole('button', { name: 'Explain' }).click();
      await supplier.locator('[data-testid=explanation][data-allowed=true]').waitFor();
      await shot(supplier, 'explained');
      await supplier.getByRole('button', { name: 'Run' }).click();
      const chart = supplier.locator('[data-testid=chart][data-kind=bar]');
      await chart.waitFor();
      byAgeId = Number(/runs\/(\d+)$/.exec(supplier.url())[1]);
      const truth = await api(server, 'supplier', 'GET',
                              `/api/v1/collaborations/campaign/queries/${byAgeId}/result`);
      const rows = truth.json.result.rows;
      assert.ok(rows.length >= 2);
      await supplier.waitForFunction(() => document.querySelector('[data-testid=chart]').dataset.values);
      assert.deepEqual(JSON.parse(await chart.getAttribute('data-labels')), rows.map((r) => r[0]));
      assert.deepEqual(JSON.parse(await chart.getAttribute('data-values')), rows.map((r) => Number(r[1])));
      // Drawn, not blank: some pixels of the bars' colour.
      const painted = await chart.locator('canvas').evaluate((canvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let bar = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i] === 0x2e && data[i + 1] === 0x6d && data[i + 2] === 0xa4) bar += 1;
        }
        return bar;
      });
      assert.ok(painted > 500, `bar pixels: ${painted}`);
      // The table shows the same rows and sorts by a click.
      const table = supplier.getByTestId('result-table');
      assert.equal(await table.locator('tbody tr').count(), rows.length);
      await table.getByRole('button', { name: /distinct_household_id/ }).click();
      await table.getByRole('button', { name: /distinct_household_id/ }).click();
      const firstCount = await table.locator('tbody tr').first().locator('td').nth(1).textContent();
      assert.equal(Number(firstCount), Math.max(...rows.map((r) => Number(r[1]))));
      // Downloads: the same rows as CSV, JSON and Parquet.
      const download = async (name) => {
        const [file] = await Promise.all([supplier.waitForEvent('download'),
                                          supplier.getByRole('link', { name, exact: true }).click()]);
        const path = join(artifacts, file.suggestedFilename());
        await file.saveAs(path);
        return readFileSync(path);
      };
      const csv = (await download('CSV')).toString();
      assert.equal(csv, ['age_band,distinct_household_id', ...rows.map((r) => r.join(','))]
        .join('\r\n') + '\r\n');
      assert.deepEqual(JSON.parse((await download('JSON')).toString()),
                       rows.map((r) => ({ age_band: r[0], distinct_household_id: r[1] })));
      const parquet = await download('Parquet');
      const { parquetReadObjects } = await import('hyparquet');
      const buffer = parquet.buffer.slice(parquet.byteOffset, parquet.byteOffset + parquet.length);
      assert.deepEqual(await parquetReadObjects({ file: buffer }),
                       rows.map((r) => ({ age_band: r[0], distinct_household_id: BigInt(r[1]) })));
      await shot(supplier, 'chart');
      await axe(supplier, 'result');
    });

    await step('a total gets a big-number card', async () => {
      await supplier.getByRole('link', { name: 'Analyses' }).click();
      await supplier.getByLabel('SQL', { exact: true }).fill(TOTAL);
      await supplier.getByRole('button', { name: 'Run' }).click();
      const card = supplier.locator('[data-testid=chart][data-kind=number] .value');
      await card.waitFor();
      const id = Number(/runs\/(\d+)$/.exec(supplier.url())[1]);
      const truth = await api(server, 'supplier', 'GET', `/api/v1/collaborations/campaign/queries/${id}/result`);
      assert.equal(await card.getAttribute('data-value'), truth.json.result.rows[0][0]);
      assert.equal(await card.textContent(), Number(truth.json.result.rows[0][0]).toLocaleString('en-US'));
      await shot(supplier, 'total');
    });

    await step('a template waits for the owner of a custom-rule table, runs, is revoked', async () => {
      // The retailer offers a panel of its households under a custom rule: only analyses it
      // approves run on it.
      await addTableWithRule(retailer, server, 'retailer', 'panel', { kind: 'custom' },
                             'retail.parquet');
      await supplier.getByRole('link', { name: 'Analyses' }).click();
      await supplier.getByLabel('SQL', { exact: true }).fill(PANEL_TEMPLATE);
      await supplier.getByLabel('Template name', { exact: true }).fill('panel_by_region');
      await supplier.getByLabel(/^Parameters/).fill('min_size:integer=1');
      await supplier.getByRole('button', { name: 'Save template' }).click();
      const card = supplier.locator('[data-template=panel_by_region]');
      await card.locator('[data-testid=runnable]', { hasText: 'waiting for approvals' }).waitFor();
      assert.equal(await card.getByTestId('run-template-panel_by_region').isDisabled(), true);
      await shot(supplier, 'template-waiting');
      await retailer.getByRole('link', { name: 'Templates' }).click();
      const theirs = retailer.locator('[data-template=panel_by_region]');
      await theirs.getByTestId('approve-panel_by_region-panel').click();
      await theirs.locator('[data-testid=runnable]', { hasText: /^runnable$/ }).waitFor();
      await shot(retailer, 'template-approved');
      await axe(retailer, 'templates');
      await supplier.reload();
      await card.locator('[data-testid=runnable]', { hasText: /^runnable$/ }).waitFor();
      await card.getByLabel(/min_size/).fill('2');
      await card.getByTestId('run-template-panel_by_region').click();
      const chart = supplier.locator('[data-testid=chart][data-kind=bar]');
      await chart.waitFor();
      await supplier.waitForFunction(() => document.querySelector('[data-testid=chart]').dataset.values);
      const id = Number(/runs\/(\d+)$/.exec(supplier.url())[1]);
      const truth = await api(server, 'supplier', 'GET', `/api/v1/collaborations/campaign/queries/${id}/result`);
      assert.ok(truth.json.result.rows.length >= 2);
      assert.deepEqual(JSON.parse(await chart.getAttribute('data-labels')),
                       truth.json.result.rows.map((r) => r[0]));
      assert.deepEqual(JSON.parse(await chart.getAttribute('data-values')),
                       truth.json.result.rows.map((r) => Number(r[1])));
      await shot(supplier, 'template-run');
      await retailer.reload();
      await theirs.getByTestId('revoke-panel_by_region-panel').click();
      await theirs.locator('[data-testid=runnable]', { hasText: 'waiting for approvals' }).waitFor();
      await shot(retailer, 'template-revoked');
    });

    await step('a slow run shows its progress and is cancelled', async () => {
      await supplier.getByRole('link', { name: 'Analyses' }).click();
      await supplier.getByLabel('SQL', { exact: true }).fill(SLOW_TEMPLATE);
      await supplier.getByLabel('Template name', { exact: true }).fill('slow_triples');
      await supplier.getByLabel(/^Parameters/).fill('');
      await supplier.getByRole('button', { name: 'Save template' }).click();
      await retailer.getByRole('link', { name: 'Overview' }).click();
      await retailer.getByRole('link', { name: 'Templates' }).click();
      await retailer.locator('[data-template=slow_triples]').getByTestId('approve-slow_triples-panel').click();
      await retailer.locator('[data-template=slow_triples] [data-testid=runnable]', { hasText: /^runnable$/ }).waitFor();
      await supplier.reload();
      const card = supplier.locator('[data-template=slow_triples]');
      await card.locator('[data-testid=runnable]', { hasText: /^runnable$/ }).waitFor();
      await card.getByTestId('run-template-slow_triples').click();
      const progress = supplier.locator('[data-testid=progress][data-status=running]');
      await progress.waitFor();
      const id = Number(/runs\/(\d+)$/.exec(supplier.url())[1]);
      const running = await api(server, 'supplier', 'GET', `/api/v1/collaborations/campaign/runs/${id}`);
      assert.equal(running.json.status, 'running');
      // Reloaded (or opened by its URL), the page still follows the run. The reload may cut the
      // poll in flight short: that one aborted request is the test's doing.
      const before = problems.failed.length;
      await supplier.reload();
      await progress.waitFor();
      problems.failed.splice(before, problems.failed.length - before, ...problems.failed.slice(before)
        .filter((text) => !text.endsWith(`/api/v1/collaborations/campaign/runs/${id} net::ERR_ABORTED`)));
      await shot(supplier, 'run-in-progress');
      await axe(supplier, 'run-progress');
      await supplier.getByTestId('cancel-run').click();
      await supplier.locator('[data-testid=run] [role=alert]', { hasText: /interrupted|cancelled/ }).waitFor();
      const ended = await api(server, 'supplier', 'GET', `/api/v1/collaborations/campaign/runs/${id}`);
      assert.equal(ended.json.status, 'cancelled');
      assert.equal(await supplier.locator('[data-testid=run] [role=alert]').textContent(), ended.json.error.message);
      assert.equal(await supplier.getByTestId('result-table').count(), 0);
      await shot(supplier, 'run-cancelled');
    });

    let jobRunId;
    await step('a job: its code reviewed and approved by the owner, run, its PNG shown', async () => {
      const created = await api(server, 'supplier', 'POST', '/api/v1/collaborations/campaign/jobs', {
        name: 'regions_chart', code_name: 'regions.py', code: JOB_CODE,
        inputs: [{ table: 'panel', columns: ['region', 'household_size'] }],
        parameters: ['min_size:integer=1'] });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      await retailer.getByRole('link', { name: 'Jobs' }).click();
      const theirs = retailer.locator('[data-job=regions_chart]');
      await theirs.locator('[data-testid=runnable]', { hasText: 'waiting for approvals' }).waitFor();
      // The owner reads the code it approves, as it was sent.
      assert.equal(await theirs.getByTestId('job-code').textContent(), JOB_CODE);
      await axe(retailer, 'jobs');
      await theirs.getByTestId('approve-job-regions_chart-panel').click();
      await theirs.locator('[data-testid=runnable]', { hasText: /^runnable$/ }).waitFor();
      await shot(retailer, 'job-approved');
      await supplier.getByRole('link', { name: 'Jobs' }).click();
      const mine = supplier.locator('[data-job=regions_chart]');
      await mine.locator('[data-testid=runnable]', { hasText: /^runnable$/ }).waitFor();
      await mine.getByLabel(/min_size/).fill('2');
      await mine.getByTestId('run-job-regions_chart').click();
      await supplier.locator('[data-testid=job-run-status][data-status=succeeded]').waitFor({ timeout: 60000 });
      jobRunId = Number(/jobs\/runs\/(\d+)$/.exec(supplier.url())[1]);
      const truth = await api(server, 'supplier', 'GET', `/api/v1/collaborations/campaign/job-runs/${jobRunId}`);
      const outputs = Object.fromEntries(truth.json.run.outputs.map((o) => [o.name, o]));
      assert.deepEqual(Object.keys(outputs).sort(), ['regions.csv', 'regions.png', 'report.html']);
      // The PNG is drawn: decoded, and the very bytes the API gives.
      const image = supplier.getByTestId('job-image');
      await image.waitFor();
      await supplier.waitForFunction(() => document.querySelector('[data-testid=job-image]').naturalWidth > 0);
      assert.equal(await image.evaluate((img) => img.naturalWidth), 400);
      // Its link downloads the very bytes the API gives (the image shows the same blob).
      const [file] = await Promise.all([supplier.waitForEvent('download'),
        supplier.getByRole('link', { name: 'Download regions.png' }).click()]);
      assert.equal(file.suggestedFilename(), 'regions.png');
      await file.saveAs(join(artifacts, 'job-regions.png'));
      assert.equal(readFileSync(join(artifacts, 'job-regions.png')).toString('base64'),
                   outputs['regions.png'].content_base64);
      assert.equal(await image.getAttribute('src'),
                   await supplier.getByRole('link', { name: 'Download regions.png' }).getAttribute('href'));
      // The CSV as a sortable table with the job's counts; the report in a sandboxed frame whose
      // script does not run.
      const csv = Buffer.from(outputs['regions.csv'].content_base64, 'base64').toString().trim().split('\n');
      const table = supplier.locator('[data-output="regions.csv"]').getByTestId('result-table');
      assert.equal(await table.locator('tbody tr').count(), csv.length - 1);
      const report = supplier.getByTestId('job-report');
      assert.equal(await report.getAttribute('sandbox'), '');
      await supplier.frameLocator('[data-testid=job-report]').getByRole('heading', { name: 'Households by region' }).waitFor();
      assert.equal(await supplier.title(), 'Parley console');
      await shot(supplier, 'job-outputs');
      await axe(supplier, 'job-run');
    });

    await step('the retailer cannot reach the supplier\'s job outputs by URL', async () => {
      const direct = await api(server, 'retailer', 'GET', `/api/v1/collaborations/campaign/job-runs/${jobRunId}`);
      assert.ok([403, 404].includes(direct.status), `status ${direct.status}`);
      assert.equal(JSON.stringify(direct.json).includes('content_base64'), false);
      expected.push({ method: 'GET', path: new RegExp(`/job-runs/${jobRunId}$`), status: direct.status });
      await retailer.goto(`${server.url}/#/c/campaign/jobs/runs/${jobRunId}`);
      await retailer.locator('[role=alert]', { hasText: direct.json.error.message }).waitFor();
      assert.equal(await retailer.getByTestId('job-image').count(), 0);
      assert.equal(await retailer.locator('[data-output]').count(), 0);
      await shot(retailer, 'job-run-refused');
    });

    await step('usage per payer, per member, and the scan limits', async () => {
      await supplier.getByRole('link', { name: 'Usage' }).click();
      const table = supplier.locator('[data-testid=usage][data-by=payer]');
      await table.waitFor();
      const truth = await api(server, 'supplier', 'POST', '/api/v1/collaborations/campaign/usage', { by: 'payer' });
      assert.ok(truth.json.lines.length >= 1);
      const keys = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.key));
      assert.deepEqual(keys, [...truth.json.lines.map((l) => l.key), 'total']);
      const total = table.locator('tbody tr[data-key=total] td');
      assert.equal(Number(await total.nth(1).textContent()), truth.json.total.queries);
      assert.equal(Number(await total.nth(3).getAttribute('data-bytes')), truth.json.total.bytes_scanned);
      assert.ok(truth.json.total.queries >= 3);
      await axe(supplier, 'usage');
      await shot(supplier, 'usage-by-payer');
      await supplier.getByTestId('usage-by').selectOption('member');
      const byMember = supplier.locator('[data-testid=usage][data-by=member]');
      await byMember.locator('tbody tr[data-key=supplier]').waitFor();
      await supplier.getByLabel(/Most bytes per month/).fill('5000000000');
      await supplier.getByRole('button', { name: 'Save limits' }).click();
      await supplier.getByTestId('used-this-month').getByText(/per month: 5\.00 GB/).waitFor();
      const after = await api(server, 'supplier', 'POST', '/api/v1/collaborations/campaign/usage', {});
      assert.equal(after.json.limits.monthly_bytes, 5000000000);
      await supplier.getByTestId('privacy-budget').waitFor();
      await shot(supplier, 'usage-limits');
    });

    await step('a change request: proposed by one, approved by the other', async () => {
      await supplier.getByRole('link', { name: 'Overview' }).click();
      await supplier.getByTestId('propose-logging').click();
      await supplier.getByTestId('changes').getByText('pending').waitFor();
      await retailer.getByRole('link', { name: 'Overview' }).click();
      const row = retailer.getByTestId('changes').getByRole('row', { name: /query logging → on/ });
      await row.getByRole('button', { name: 'Approve' }).click();
      await row.getByText('committed').waitFor();
      await retailer.locator('[data-testid=query-logging]', { hasText: /^on$/ }).waitFor();
      await shot(retailer, 'change-approved');
      // With logging on, the retailer's query log shows the supplier's queries on its tables.
      await retailer.getByRole('link', { name: 'Runs' }).click();
      const log = retailer.getByTestId('query-log');
      await log.getByText('SELECT COUNT(DISTINCT r.household_id) AS households').waitFor();
      const logged = await api(server, 'retailer', 'GET', '/api/v1/collaborations/campaign/query-log');
      assert.equal(await log.locator('tbody tr').count(), logged.json.queries.length);
      assert.equal(await log.getByRole('link').count(), 0);  // no result of theirs to open
      await shot(retailer, 'query-log');
      await axe(retailer, 'query-log');
    });

    await step('the retailer cannot reach the supplier\'s result by URL', async () => {
      const direct = await api(server, 'retailer', 'GET',
                               `/api/v1/collaborations/campaign/queries/${byAgeId}/result`);
      // The API refuses a result to a member who does not receive it (403, naming no data).
      assert.ok([403, 404].includes(direct.status), `status ${direct.status}`);
      expected.push({ method: 'GET', path: new RegExp(`/queries/${byAgeId}/result$`),
                      status: direct.status });
      // The page first asks for the run's progress, which only its runner sees.
      expected.push({ method: 'GET', path: new RegExp(`/runs/${byAgeId}$`), status: 404 });
      await retailer.goto(`${server.url}/#/c/campaign/runs/${byAgeId}`);
      await retailer.locator('[role=alert]', { hasText: direct.json.error.message }).waitFor();
      assert.equal(await retailer.getByTestId('result-table').count(), 0);
      assert.equal(await retailer.getByTestId('chart').count(), 0);
      await shot(retailer, 'result-refused');
    });

    await step('the audit log verifies', async () => {
      await retailer.getByRole('link', { name: 'Audit' }).click();
      await retailer.getByTestId('audit').waitFor();
      await retailer.getByRole('button', { name: 'Verify the chain' }).click();
      await retailer.locator('[data-testid=audit-verdict]', { hasText: /^\s*Intact: \d+ entries verified\.\s*$/ }).waitFor();
      await shot(retailer, 'audit');
      await axe(retailer, 'audit');
      await supplier.getByRole('link', { name: 'Runs' }).click();
      await supplier.getByTestId('runs').waitFor();
      await shot(supplier, 'runs');
      await axe(supplier, 'runs');
      await retailer.goto(server.url + '/#/');
      await retailer.getByTestId('collaborations').waitFor();
      await axe(retailer, 'collaborations');
    });

    await step('no console errors, failed requests or unexpected HTTP errors', () => {
      const unexpected = problems.http.filter((e) => !expected.some((x) =>
        x.method === e.method && x.status === e.status && x.path.test(new URL(e.url).pathname)));
      assert.deepEqual(unexpected, []);
      assert.deepEqual(problems.failed, []);
      // Chromium logs every 4xx response as a console error; only those of the expected ones.
      const other = problems.console.filter((text) =>
        !/Failed to load resource: the server responded with a status of (400|403|404|409)/.test(text) &&
        // The job's report tries to run a script in its sandboxed frame: blocked, as it must be.
        !/Blocked script execution in 'blob:.*' because the document's frame is sandboxed/.test(text));
      assert.deepEqual(other, []);
    });
  } finally {
    await browser.close();
    await server.stop();
    postgres.stop();
  }
});
