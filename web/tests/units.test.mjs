// The console's pure functions (node --test): highlights, chart choice, sorting, CSV, the
// builder's SQL, rule summaries. Registered in ctest as console_units.
import test from 'node:test';
import assert from 'node:assert/strict';
import { offsetOf, extentAt, highlightPieces } from '../src/sql_highlight.js';
import { chooseChart, sortRows, toCsv } from '../src/chart_choice.js';
import { builderSql } from '../src/builder_sql.js';
import { summarizeRule } from '../src/rule_summary.js';

test('a violation position becomes the expression it points at', () => {
  const sql = 'SELECT r.hashed_email, r.age_band, COUNT(*)\nFROM retail r';
  assert.equal(offsetOf(sql, 'line 1, column 8'), 7);
  assert.equal(extentAt(sql, 7), 'r.hashed_email'.length);
  assert.equal(extentAt(sql, sql.indexOf('COUNT')), 'COUNT(*)'.length);
  assert.equal(offsetOf(sql, 'line 2, column 6'), sql.indexOf('retail'));
  assert.equal(offsetOf(sql, 'line 3, column 1'), -1);
  assert.equal(offsetOf(sql, ''), -1);
  const pieces = highlightPieces(sql, [{ position: 'line 1, column 8' }, { position: '' },
                                       { position: 'line 1, column 36' }]);
  const marked = pieces.filter((p) => p.violations.length);
  assert.deepEqual(marked.map((p) => [p.text, p.violations]),
                   [['r.hashed_email', [0]], ['COUNT(*)', [2]]]);
  assert.equal(pieces.map((p) => p.text).join(''), sql);
});

test('the chart follows the shape of the result', () => {
  const total = chooseChart({ columns: [{ name: 'households', type: 'BIGINT' }], rows: [['1200']] });
  assert.deepEqual(total, { kind: 'number', cards: [{ label: 'households', value: '1200' }] });
  const bars = chooseChart({
    columns: [{ name: 'age_band', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' }],
    rows: [['18-24', '300'], [null, '120']],
  });
  assert.deepEqual(bars, { kind: 'bar', measure: 'n', dimension: 'age_band',
                           labels: ['18-24', 'NULL'], values: [300, 120] });
  const lines = chooseChart({
    columns: [{ name: 'day', type: 'DATE' }, { name: 'n', type: 'BIGINT' }],
    rows: [['2024-01-02', '5'], ['2024-01-01', '7']],
  });
  assert.deepEqual(lines, { kind: 'line', measure: 'n', labels: ['2024-01-01', '2024-01-02'],
                            values: [7, 5] });
  assert.equal(chooseChart({ columns: [{ name: 'a', type: 'VARCHAR' }], rows: [['x']] }).kind, 'none');
  assert.equal(chooseChart({ columns: [{ name: 'a', type: 'BIGINT' }], rows: [] }).kind, 'none');
});

test('sorting is numeric for numbers, NULL last', () => {
  const rows = [['a', '10'], ['b', '9'], ['c', null]];
  assert.deepEqual(sortRows(rows, 1, true, false).map((r) => r[0]), ['b', 'a', 'c']);
  assert.deepEqual(sortRows(rows, 1, true, true).map((r) => r[0]), ['a', 'b', 'c']);
  assert.deepEqual(sortRows(rows, 1, false, false).map((r) => r[0]), ['a', 'b', 'c']);
});

test('CSV quotes what needs quoting', () => {
  const csv = toCsv({ columns: [{ name: 'a' }, { name: 'b' }], rows: [['x,y', null], ['"q"', '1']] });
  assert.equal(csv, 'a,b\r\n"x,y",\r\n"""q""",1\r\n');
});

test('the builder writes one GROUP BY query', () => {
  const sql = builderSql({
    tables: [{ name: 'retail', alias: 't1' }, { name: 'loyalty', alias: 't2' }],
    join: { left: 'hashed_email', right: 'hashed_email' },
    dimensions: [{ alias: 't1', column: 'age_band' }],
    measures: [{ fn: 'COUNT_DISTINCT', alias: 't1', column: 'household_id' }],
  });
  assert.equal(sql, 'SELECT t1.age_band, COUNT(DISTINCT t1.household_id) AS distinct_household_id\n' +
    'FROM retail t1\nJOIN loyalty t2 ON t1.hashed_email = t2.hashed_email\n' +
    'GROUP BY t1.age_band\nORDER BY t1.age_band');
  assert.equal(builderSql({ tables: [{ name: 'Odd Name', alias: 't1' }], join: null,
                            dimensions: [], measures: [] }),
               'SELECT COUNT(*) AS rows\nFROM "Odd Name" t1');
});

test('a rule reads as sentences', () => {
  const lines = summarizeRule({
    kind: 'aggregation',
    aggregate_columns: [{ columns: ['household_id'], functions: ['COUNT_DISTINCT'] }],
    join_columns: ['hashed_email'], join_required: 'query_runner',
    dimension_columns: ['age_band'],
    output_constraints: [{ column: 'household_id', minimum: 100, type: 'count_distinct' }],
  });
  assert.deepEqual(lines, [
    'Aggregation rule: only aggregate answers over groups, never rows.',
    'May compute COUNT_DISTINCT of household_id.',
    'May group by age_band.',
    'May be joined on hashed_email, and must be joined with the runner\'s own table.',
    'Every group needs at least 100 distinct household_id (smaller groups are suppressed).',
  ]);
  assert.match(summarizeRule(null)[0], /No rule yet/);
});

test('a result written as Parquet reads back with its types and NULLs', async () => {
  const { toParquet } = await import('../src/parquet_export.js');
  const { parquetReadObjects } = await import('hyparquet');
  const buffer = toParquet({
    columns: [{ name: 'band', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' },
              { name: 'avg', type: 'DOUBLE' }, { name: 'day', type: 'DATE' }],
    rows: [['a', '9007199254740993', '1.5', '2024-01-01'], [null, '2', null, null]],
  });
  assert.equal(new TextDecoder().decode(new Uint8Array(buffer, 0, 4)), 'PAR1');
  const rows = await parquetReadObjects({ file: buffer });
  assert.deepEqual(rows, [
    { band: 'a', n: 9007199254740993n, avg: 1.5, day: '2024-01-01' },
    { band: null, n: 2n, avg: null, day: null },
  ]);
});

test('job outputs: kinds by name, base64, CSV into a typed table', async () => {
  const { outputKind, base64ToBytes, parseCsv } = await import('../src/job_outputs.js');
  assert.deepEqual(outputKind('chart.PNG'), { kind: 'image', type: 'image/png' });
  assert.deepEqual(outputKind('report.html'), { kind: 'html', type: 'text/html' });
  assert.deepEqual(outputKind('segments.csv'), { kind: 'table', type: 'text/csv' });
  assert.deepEqual(outputKind('logo.svg'), { kind: 'file', type: 'application/octet-stream' });
  assert.deepEqual(outputKind('model.bin').kind, 'file');
  assert.deepEqual([...base64ToBytes('iVBORw0=')], [0x89, 0x50, 0x4e, 0x47, 0x0d]);
  assert.deepEqual(parseCsv('band,n\r\n"18,24",12\n"say ""hi""",\n25-34,3.5e2\n'), {
    columns: [{ name: 'band', type: 'VARCHAR' }, { name: 'n', type: 'DOUBLE' }],
    rows: [['18,24', '12'], ['say "hi"', null], ['25-34', '3.5e2']],
  });
  assert.deepEqual(parseCsv('a\nx'), { columns: [{ name: 'a', type: 'VARCHAR' }], rows: [['x']] });
  assert.deepEqual(parseCsv(''), { columns: [], rows: [] });
});

test('an upload\'s name is a plain file name the server accepts', async () => {
  const { uploadName } = await import('../src/upload.js');
  assert.equal(uploadName('visits 2026.csv'), 'visits_2026.csv');
  assert.equal(uploadName('../../etc/passwd'), '_.._etc_passwd');
  assert.equal(uploadName('.hidden.parquet'), 'hidden.parquet');
  assert.equal(uploadName('données été.csv'), 'donn_es__t_.csv');
  assert.equal(uploadName('...'), 'upload');
  assert.equal(uploadName('-rf.csv'), 'rf.csv');
  assert.equal(uploadName('a'.repeat(200)).length, 128);
});

test('byte counts read as people write them', async () => {
  const { formatBytes } = await import('../src/pages/usage.js');
  assert.equal(formatBytes(undefined), 'no limit');
  assert.equal(formatBytes(0), '0 bytes');
  assert.equal(formatBytes(999), '999 bytes');
  assert.equal(formatBytes(1500), '1.50 kB');
  assert.equal(formatBytes(5000000000), '5.00 GB');
  assert.equal(formatBytes(123456789012), '123.5 GB');
});

test('the audit tab asks for one page at a time, then the page before the last one shown', async () => {
  const { auditPagePath, AUDIT_PAGE } = await import('../src/pages/audit.js');
  assert.equal(AUDIT_PAGE, 100);
  assert.equal(auditPagePath('q3 room'), '/api/v1/collaborations/q3%20room/audit?limit=100');
  assert.equal(auditPagePath('q3 room', 9901),
               '/api/v1/collaborations/q3%20room/audit?limit=100&before=9901');
});
