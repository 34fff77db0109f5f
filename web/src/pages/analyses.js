// Analyses: the SQL editor beside the schema of every visible table, the analysis builder that
// writes the SQL (tables, a join, dimensions, measures), `explain` before running, running (the
// run is submitted asynchronously; its page shows its progress and offers Cancel), a
// rejection with every violation highlighted in the SQL, and saving the SQL as a template.
import { useState } from 'preact/hooks';
import { get, post, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, navigate, link } from '../ui.js';
import { builderSql, MEASURE_FUNCTIONS } from '../builder_sql.js';
import { Rejection, submitRun } from './runs.js';

function Schema({ tables }) {
  return html`<aside class="schema" aria-labelledby="schema-title" data-testid="schema">
    <h2 id="schema-title">Schema</h2>
    ${tables.map((t) => html`<details key=${t.name} open=${tables.length <= 6}>
      <summary><strong>${t.name}</strong> <span class="owner">(${t.owner}${t.rule ? `, ${t.rule.kind}` : ', no rule'})</span></summary>
      <ul>${t.columns.map((c) => html`<li key=${c.name}><code>${c.name}</code> <span class="type">${c.type}</span></li>`)}</ul>
    </details>`)}
  </aside>`;
}

function Builder({ tables, onSql }) {
  const [first, setFirst] = useState(tables[0] ? tables[0].name : '');
  const [second, setSecond] = useState('');
  const [joinLeft, setJoinLeft] = useState('');
  const [joinRight, setJoinRight] = useState('');
  const [dimensions, setDimensions] = useState([]);
  const [measure, setMeasure] = useState({ fn: 'COUNT_DISTINCT', column: '' });
  const byName = Object.fromEntries(tables.map((t) => [t.name, t]));
  const chosen = [first, second].filter(Boolean).map((name, i) => ({ name, alias: `t${i + 1}` }));
  const columnsOf = (name) => (byName[name] ? byName[name].columns.map((c) => c.name) : []);
  const qualified = chosen.flatMap((t) => columnsOf(t.name).map((c) => `${t.alias}.${c}`));
  const write = () => {
    const split = (value) => ({ alias: value.split('.')[0], column: value.slice(value.indexOf('.') + 1) });
    onSql(builderSql({
      tables: chosen,
      join: second && joinLeft && joinRight ? { left: joinLeft, right: joinRight } : null,
      dimensions: dimensions.map(split),
      measures: measure.column ? [{ fn: measure.fn, ...split(measure.column) }] : [],
    }));
  };
  const toggleDimension = (value) => setDimensions(dimensions.includes(value)
    ? dimensions.filter((d) => d !== value) : [...dimensions, value]);
  return html`<section class="card builder" aria-labelledby="builder-title" data-testid="builder">
    <h2 id="builder-title">Analysis builder</h2>
    <div class="row">
      <label>Table <select data-testid="builder-table" value=${first} onChange=${(e) => setFirst(e.target.value)}>
        ${tables.map((t) => html`<option key=${t.name} value=${t.name}>${t.name}</option>`)}</select></label>
      <label>Join with <select data-testid="builder-join-table" value=${second} onChange=${(e) => setSecond(e.target.value)}>
        <option value="">(no join)</option>
        ${tables.filter((t) => t.name !== first).map((t) => html`<option key=${t.name} value=${t.name}>${t.name}</option>`)}</select></label>
    </div>
    ${second && html`<div class="row">
      <label>on ${first}. <select data-testid="builder-join-left" value=${joinLeft} onChange=${(e) => setJoinLeft(e.target.value)}>
        <option value="">choose</option>${columnsOf(first).map((c) => html`<option key=${c} value=${c}>${c}</option>`)}</select></label>
      <label>= ${second}. <select data-testid="builder-join-right" value=${joinRight} onChange=${(e) => setJoinRight(e.target.value)}>
        <option value="">choose</option>${columnsOf(second).map((c) => html`<option key=${c} value=${c}>${c}</option>`)}</select></label>
    </div>`}
    <fieldset><legend>Dimensions (group by)</legend>
      <div class="dimension-list">${qualified.map((q) => html`<label class="check" key=${q}>
        <input type="checkbox" data-testid=${`dimension-${q}`} checked=${dimensions.includes(q)}
          onChange=${() => toggleDimension(q)} /> ${q}</label>`)}</div>
    </fieldset>
    <div class="row">
      <label>Measure <select data-testid="builder-measure-fn" value=${measure.fn}
        onChange=${(e) => setMeasure({ ...measure, fn: e.target.value })}>
        ${MEASURE_FUNCTIONS.map((f) => html`<option key=${f} value=${f}>${f}</option>`)}</select></label>
      <label>of <select data-testid="builder-measure-column" value=${measure.column}
        onChange=${(e) => setMeasure({ ...measure, column: e.target.value })}>
        <option value="">(none)</option>${qualified.map((q) => html`<option key=${q} value=${q}>${q}</option>`)}</select></label>
    </div>
    <button type="button" class="secondary" onClick=${write} data-testid="builder-write">Write the SQL</button>
  </section>`;
}

function Explanation({ explanation }) {
  return html`<section class="card explanation" aria-labelledby="explain-title" data-testid="explanation"
    data-allowed=${String(explanation.allowed)}>
    <h2 id="explain-title">${explanation.allowed ? 'Allowed' : 'Not allowed'}${explanation.rule_kind ? ` (${explanation.rule_kind} rules)` : ''}</h2>
    ${explanation.thresholds.length > 0 && html`<p>Thresholds: ${explanation.thresholds.map((t) =>
      `${t.table}.${t.column} ≥ ${t.minimum}`).join(', ')}</p>`}
    ${explanation.engine_sql && html`<details><summary>SQL the engine runs</summary>
      <pre class="sql">${explanation.engine_sql}</pre></details>`}
  </section>`;
}

function TemplateForm({ collaboration, sql }) {
  const [name, setName] = useState('');
  const [parameters, setParameters] = useState('');
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = { name: name.trim(), sql };
      const list = parameters.split(',').map((p) => p.trim()).filter(Boolean);
      if (list.length) body.parameters = list;
      await post(collaborationPath(collaboration, 'templates'), body);
      navigate(link('c', collaboration, 'templates'));
    } catch (e) {
      setError(e);
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="template-title">
    <h2 id="template-title">Save as a template</h2>
    <label for="template-name">Template name</label>
    <input id="template-name" required value=${name} onInput=${(e) => setName(e.target.value)} />
    <label for="template-parameters">Parameters (e.g. min:integer=4, comma-separated)</label>
    <input id="template-parameters" value=${parameters} onInput=${(e) => setParameters(e.target.value)} />
    <button type="submit" class="secondary">Save template</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function AnalysesPage({ collaboration }) {
  const [state] = useLoad(() => get(collaborationPath(collaboration, 'tables')), [collaboration]);
  const [sql, setSql] = useState('');
  const [outcome, setOutcome] = useState(null);  // {explanation, sql} | {error}
  const [busy, setBusy] = useState(null);
  const act = async (what) => {
    setBusy(what);
    setOutcome(null);
    try {
      if (what === 'explain') {
        const response = await post(collaborationPath(collaboration, 'explain'), { sql });
        setOutcome({ explained: response.explanation, sql });
      } else {
        const response = await submitRun(collaboration, { sql }, sql);
        if (response.explanation && !response.explanation.allowed) {
          setOutcome({ rejected: response.explanation, sql });
        } else {
          navigate(link('c', collaboration, 'runs', response.query_id));
        }
      }
    } catch (e) {
      setOutcome({ error: e });
    } finally {
      setBusy(null);
    }
  };
  return html`<${Loaded} state=${state} what="the schema">${({ tables }) => html`
    <div class="analyses">
      <${Schema} tables=${tables} />
      <div class="work">
        <h1>Analyses</h1>
        <label for="sql">SQL</label>
        <textarea id="sql" class="code" rows="10" spellcheck="false" value=${sql}
          onInput=${(e) => setSql(e.target.value)}></textarea>
        <div class="row">
          <button type="button" class="secondary" disabled=${!sql || busy} onClick=${() => act('explain')}>Explain</button>
          <button type="button" class="primary" disabled=${!sql || busy} onClick=${() => act('run')}>Run</button>
          ${busy === 'run' && html`<span class="loading" role="status"><span class="spinner" aria-hidden="true"></span> Submitting…</span>`}
        </div>
        ${outcome && outcome.error && html`<${ErrorBox} error=${outcome.error} />`}
        ${outcome && outcome.explained && html`<${Explanation} explanation=${outcome.explained} />`}
        ${outcome && outcome.explained && !outcome.explained.allowed && html`
          <${Rejection} sql=${outcome.sql} explanation=${outcome.explained} />`}
        ${outcome && outcome.rejected && html`<${Rejection} sql=${outcome.sql} explanation=${outcome.rejected} />`}
        <${Builder} tables=${tables} onSql=${(text) => { setSql(text); setOutcome(null); }} />
        ${sql && html`<${TemplateForm} collaboration=${collaboration} sql=${sql} />`}
      </div>
    </div>`}<//>`;
}
