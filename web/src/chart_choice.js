// Which chart a result gets, from its shape alone (the API's result: {columns: [{name, type}],
// rows: [[text or null]]}, every value as text):
// - one row of numbers: a big-number card per column (a total);
// - a first column of dates or times and numbers after it: lines over time;
// - text columns (segments) then a number: bars, one per row, labelled by the segment;
// - anything else: the table alone.

const NUMBER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*|NUMERIC.*|INT.*)$/i;
const TIME_TYPES = /^(DATE|TIMESTAMP.*|TIME)$/i;

export const isNumberColumn = (column) => NUMBER_TYPES.test(column.type || '');
export const isTimeColumn = (column) => TIME_TYPES.test(column.type || '');

export function chooseChart(result) {
  const columns = result.columns || [];
  const rows = result.rows || [];
  if (!columns.length || !rows.length) return { kind: 'none' };
  const numeric = columns.map(isNumberColumn);
  if (rows.length === 1 && numeric.every(Boolean)) {
    return {
      kind: 'number',
      cards: columns.map((column, i) => ({ label: column.name, value: rows[0][i] })),
    };
  }
  const measure = numeric.findIndex(Boolean);
  if (measure < 0) return { kind: 'none' };
  const values = rows.map((row) => (row[measure] === null ? null : Number(row[measure])));
  if (isTimeColumn(columns[0]) && measure > 0) {
    const ordered = rows.map((row, i) => [row[0], values[i]])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    return {
      kind: 'line',
      measure: columns[measure].name,
      labels: ordered.map(([label]) => label ?? 'NULL'),
      values: ordered.map(([, value]) => value),
    };
  }
  const dimensions = columns.map((column, i) => i).filter((i) => i < measure);
  if (!dimensions.length) return { kind: 'none' };
  return {
    kind: 'bar',
    measure: columns[measure].name,
    dimension: dimensions.map((i) => columns[i].name).join(' · '),
    labels: rows.slice(0, 60).map((row) => dimensions.map((i) => row[i] ?? 'NULL').join(' · ')),
    values: values.slice(0, 60),
  };
}

// Sorts rows by one column: numbers as numbers, NULL last, text by locale.
export function sortRows(rows, index, numeric, descending) {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x, y] = [a[index], b[index]];
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const order = numeric ? Number(x) - Number(y) : String(x).localeCompare(String(y));
    return sign * order;
  });
}

// The result as CSV (RFC 4180 quoting) and as JSON objects, for downloads.
export function toCsv(result) {
  const quote = (value) => {
    if (value === null) return '';
    const text = String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [result.columns.map((c) => quote(c.name)).join(',')];
  for (const row of result.rows) lines.push(row.map(quote).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function toJsonRows(result) {
  return result.rows.map((row) =>
    Object.fromEntries(result.columns.map((column, i) => [column.name, row[i]])));
}
