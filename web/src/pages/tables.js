// Tables: every visible table with its owner, columns and a readable summary of its rule; adding
// one (a file the server may read, a file uploaded from the browser with a progress bar, or a
// federated PostgreSQL relation through the operator's service entry); a table's page with the
// rule editor, which validates as one types with the server's own messages (a dry run of
// "set rule": nothing is stored until Save). Never rows of another member: the API has none.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, put, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, navigate, link } from '../ui.js';
import { summarizeRule } from '../rule_summary.js';
import { sha256Hex, uploadFile, uploadName } from '../upload.js';

// The upload's progress: bytes sent of the file's size, as a bar and as text.
function UploadProgress({ progress }) {
  if (!progress) return null;
  const percent = progress.total ? Math.floor((100 * progress.sent) / progress.total) : 0;
  return html`<div class="progress-box" data-testid="upload-progress" data-sent=${progress.sent}
    data-total=${progress.total} data-updates=${progress.updates} data-stage=${progress.stage}>
    <progress max=${progress.total || 1} value=${progress.sent} aria-label="upload progress"></progress>
    <span role="status">${progress.stage === 'hashing' ? 'Computing the checksum…'
      : progress.stage === 'done' ? `Uploaded ${progress.total.toLocaleString('en-US')} bytes.`
      : `Uploading: ${percent}% of ${progress.total.toLocaleString('en-US')} bytes`}</span>
  </div>`;
}

function AddTableForm({ collaboration, me, onAdded }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState('files');
  const [source, setSource] = useState('');
  const [service, setService] = useState('');
  const [relation, setRelation] = useState('');
  const [file, setFile] = useState(null);
  const [progress, setProgress] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  // The file goes into the member's folder first (under its own name), then the table is added
  // from the path the server answered, as `parley table add --upload` does.
  const upload = async () => {
    let updates = 0;
    setProgress({ stage: 'hashing', sent: 0, total: file.size, updates });
    const sha256 = await sha256Hex(file);
    const stored = await uploadFile(uploadName(file.name), file, sha256, (sent, total) => {
      updates += 1;
      setProgress({ stage: 'sending', sent, total, updates });
    });
    setProgress({ stage: 'done', sent: stored.bytes, total: stored.bytes, updates });
    return stored.path;
  };
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      // A federated table is read in place through a service entry the server's operator set up
      // for this organisation (docs/postgres.md): the console names only the entry.
      const body = kind === 'postgres'
        ? { table: name.trim(), kind: 'postgres',
            description: { conninfo: `service=${me}:${service.trim()}`, relation: relation.trim() } }
        : { table: name.trim(), source: kind === 'upload' ? await upload() : source.trim() };
      await post(collaborationPath(collaboration, 'tables'), body);
      onAdded(name.trim());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="add-table-title">
    <h2 id="add-table-title">Add a table</h2>
    <label for="table-name">Table name</label>
    <input id="table-name" required value=${name} onInput=${(e) => setName(e.target.value)} />
    <label for="table-kind">Source</label>
    <select id="table-kind" value=${kind} onChange=${(e) => { setKind(e.target.value); setProgress(null); }}>
      <option value="files">files on the server (Parquet, CSV, JSON lines)</option>
      <option value="upload">upload a file from this computer</option>
      <option value="postgres">federated: PostgreSQL, read in place</option>
    </select>
    ${kind === 'files' && html`
      <label for="table-source">Path or glob on the server (under your data folder)</label>
      <input id="table-source" required value=${source} onInput=${(e) => setSource(e.target.value)} />`}
    ${kind === 'upload' && html`
      <label for="table-file">File to upload (Parquet, CSV, JSON lines)</label>
      <input id="table-file" type="file" required
        onChange=${(e) => { setFile(e.target.files[0] || null); setProgress(null); }} />
      <${UploadProgress} progress=${progress} />`}
    ${kind === 'postgres' && html`
      <label for="table-service">Service entry (set up for ${me} by the server's operator)</label>
      <input id="table-service" required value=${service} onInput=${(e) => setService(e.target.value)}
        placeholder="warehouse" />
      <p class="hint">Read as <code>service=${me}:${service || 'NAME'}</code>: no host, user or
        password here (docs/postgres.md).</p>
      <label for="table-relation">Relation (schema.table)</label>
      <input id="table-relation" required value=${relation} onInput=${(e) => setRelation(e.target.value)} />`}
    <button type="submit" class="primary" disabled=${busy}>${busy ? 'Adding…' : 'Add table'}</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function RuleSummary({ rule }) {
  return html`<ul class="rule-summary" data-testid="rule-summary">
    ${summarizeRule(rule).map((line) => html`<li key=${line}>${line}</li>`)}</ul>`;
}

// A page of tables at a time, with a filter on name and owner: a room of a thousand tables
// paints its first page at once (bench/README.md, the console's first paint).
const TABLES_PAGE = 100;

function TableList({ collaboration, tables, me }) {
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(TABLES_PAGE);
  const needle = filter.trim().toLowerCase();
  const matching = needle
    ? tables.filter((t) => t.name.toLowerCase().includes(needle) || t.owner.toLowerCase().includes(needle))
    : tables;
  return html`
    ${tables.length > TABLES_PAGE && html`<label>Filter by name or owner
      <input type="search" value=${filter} onInput=${(e) => { setFilter(e.target.value); setShown(TABLES_PAGE); }} /></label>`}
    <table class="grid" data-testid="tables">
      <caption>${tables.length} tables visible to ${me}${matching.length < tables.length ? `, ${matching.length} matching` : ''}</caption>
      <thead><tr><th scope="col">Table</th><th scope="col">Owner</th><th scope="col">Kind</th>
        <th scope="col">Columns</th><th scope="col">Rule</th></tr></thead>
      <tbody>${matching.slice(0, shown).map((t) => html`<tr key=${t.name}>
        <td><a href=${link('c', collaboration, 'tables', t.name)}>${t.name}</a></td>
        <td>${t.owner}</td><td>${t.kind}</td>
        <td>${t.columns.map((c) => `${c.name} ${c.type}`).join(', ')}</td>
        <td>${t.rule ? t.rule.kind : 'none yet'}</td></tr>`)}</tbody></table>
    ${shown < matching.length && html`<button type="button" class="secondary"
      onClick=${() => setShown(shown + TABLES_PAGE)}>Show ${Math.min(TABLES_PAGE, matching.length - shown)} more</button>`}`;
}

export function TablesPage({ collaboration, me }) {
  const [state, reload] = useLoad(() => get(collaborationPath(collaboration, 'tables')), [collaboration]);
  const added = (name) => navigate(link('c', collaboration, 'tables', name));
  return html`<section aria-labelledby="tables-title">
    <h1 id="tables-title">Tables</h1>
    <${Loaded} state=${state} what="tables">${({ tables }) => (tables.length
      ? html`<${TableList} collaboration=${collaboration} tables=${tables} me=${me} />`
      : html`<p>No tables yet.</p>`)}<//>
    <${AddTableForm} collaboration=${collaboration} me=${me} onAdded=${(n) => { reload(); added(n); }} />
  </section>`;
}

// Validation as one types: local JSON syntax first, then the server's dry run (debounced), whose
// message is exactly the one `parley rule set` prints.
function RuleEditor({ collaboration, table, onSaved }) {
  const [text, setText] = useState(JSON.stringify(table.rule || { kind: 'aggregation' }, null, 2));
  const [edited, setEdited] = useState(false);  // nothing to check before the first edit
  const [check, setCheck] = useState({ state: 'idle' });
  const [saved, setSaved] = useState(null);
  const sequence = useRef(0);
  const path = collaborationPath(collaboration, 'tables', table.name, 'rule');
  useEffect(() => {
    if (!edited) return undefined;
    const mine = ++sequence.current;
    let rule;
    try {
      rule = JSON.parse(text);
    } catch (e) {
      setCheck({ state: 'invalid', message: `not valid JSON: ${e.message}` });
      return undefined;
    }
    setCheck({ state: 'checking' });
    const timer = setTimeout(async () => {
      try {
        await put(path, { rule, dry_run: true });
        if (mine === sequence.current) setCheck({ state: 'valid' });
      } catch (e) {
        if (mine === sequence.current) setCheck({ state: 'invalid', message: e.message });
      }
    }, 350);
    return () => clearTimeout(timer);
  }, [text, edited]);
  const save = async () => {
    setSaved(null);
    try {
      const response = await put(path, { rule: JSON.parse(text) });
      setSaved({ ok: true });
      onSaved(response.table);
    } catch (e) {
      setSaved({ error: e });
    }
  };
  return html`<section class="card" aria-labelledby="rule-editor-title">
    <h2 id="rule-editor-title">Rule editor</h2>
    <label for="rule-text">Rule (JSON, docs/rules.md)</label>
    <textarea id="rule-text" class="code" rows="16" spellcheck="false" value=${text}
      onInput=${(e) => { setEdited(true); setText(e.target.value); }}></textarea>
    <p class=${`validation ${check.state}`} role="status" data-testid="rule-validation"
      data-state=${check.state}>
      ${check.state === 'valid' ? 'Valid: the server accepts this rule.'
        : check.state === 'checking' ? 'Checking…'
        : check.state === 'invalid' ? check.message : ''}</p>
    <button type="button" class="primary" disabled=${check.state !== 'valid'} onClick=${save}>
      Save rule</button>
    ${saved && saved.ok && html`<span role="status" class="ok"> Saved.</span>`}
    ${saved && saved.error && html`<${ErrorBox} error=${saved.error} />`}
  </section>`;
}

export function TablePage({ collaboration, table, me }) {
  const [state, reload] = useLoad(() => get(collaborationPath(collaboration, 'tables', table)),
                                  [collaboration, table]);
  return html`<${Loaded} state=${state} what="the table">${({ table: t }) => html`
    <section aria-labelledby="table-title" data-testid="table">
      <h1 id="table-title">${t.name}</h1>
      <p>Owned by <strong>${t.owner}</strong> · ${t.kind}
        ${t.location ? html` · source <code>${t.location}</code>` : ''}</p>
      <div class="columns">
        <table class="grid" data-testid="columns">
          <caption>Columns and types</caption>
          <thead><tr><th scope="col">Column</th><th scope="col">Type</th></tr></thead>
          <tbody>${t.columns.map((c) => html`<tr key=${c.name}><td>${c.name}</td><td>${c.type}</td></tr>`)}</tbody>
        </table>
        <div class="card"><h2>What may be asked</h2><${RuleSummary} rule=${t.rule} /></div>
      </div>
      ${t.owner === me && html`<${RuleEditor} collaboration=${collaboration} table=${t}
        onSaved=${reload} />`}
    </section>`}<//>`;
}
