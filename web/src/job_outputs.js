// A job's output files as the console shows them (issue 12's jobs; docs/console.md): the API
// sends each file's bytes base64-encoded to its receivers only. Images are shown as images,
// HTML reports in a sandboxed frame (no script, an origin of its own) and as a download, CSV
// files as a sortable table, text as text, anything else as a download. Pure functions: tested by
// node (web/tests/units.test.mjs).

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const KINDS = [
  [/\.png$/i, 'image', 'image/png'],
  [/\.jpe?g$/i, 'image', 'image/jpeg'],
  [/\.gif$/i, 'image', 'image/gif'],
  [/\.webp$/i, 'image', 'image/webp'],
  [/\.html?$/i, 'html', 'text/html'],
  [/\.csv$/i, 'table', 'text/csv'],
  [/\.(json|txt|md|log)$/i, 'text', 'text/plain'],
];

// {kind: 'image'|'html'|'table'|'text'|'file', type} from the file's name. SVG is a document
// that may carry script: it is offered as a download, not drawn.
export function outputKind(name) {
  for (const [pattern, kind, type] of KINDS) if (pattern.test(name)) return { kind, type };
  return { kind: 'file', type: 'application/octet-stream' };
}

// RFC 4180 CSV (quotes, doubled quotes, CRLF or LF) into {columns, rows}; a column whose every
// non-empty value is a number is typed DOUBLE (sorted and aligned as numbers), else VARCHAR.
// Empty fields are NULL.
export function parseCsv(text) {
  const records = [];
  let record = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"') { quoted = true; i += 1; continue; }
    if (c === ',') { record.push(field); field = ''; i += 1; continue; }
    if (c === '\n' || c === '\r') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += c;
    i += 1;
  }
  if (field !== '' || record.length) { record.push(field); records.push(record); }
  const [header = [], ...body] = records;
  const rows = body.filter((r) => !(r.length === 1 && r[0] === ''))
    .map((r) => header.map((_, j) => (r[j] === undefined || r[j] === '' ? null : r[j])));
  const numeric = header.map((_, j) => rows.every((r) => r[j] === null || /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(r[j])));
  return {
    columns: header.map((name, j) => ({ name, type: numeric[j] && rows.length ? 'DOUBLE' : 'VARCHAR' })),
    rows,
  };
}
