// Runs: the list of the collaboration's queries, a run's page (live progress and cancel while it
// runs, its result as a sortable table and a chart chosen from the result's shape, downloads),
// and the rejection view that shows every violation with the part of the SQL it points at.
//
// Runs are submitted asynchronously (POST .../runs, docs/api.md "Asynchronous runs"): the server
// answers at once; a queued or running run's page polls GET .../runs/{id} for `status` and
// `progress` and offers Cancel (POST .../runs/{id}/cancel); a rejection is answered at once.
import { useEffect, useState } from 'preact/hooks';
import { get, post, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, ActionButton, link, formatTime } from '../ui.js';
import { highlightPieces } from '../sql_highlight.js';
import { chooseChart, isNumberColumn, sortRows, toCsv, toJsonRows } from '../chart_choice.js';
import { ChartView } from '../chart_view.js';
import { toParquet } from '../parquet_export.js';

// Responses of runs made from this tab, so a run's page shows them without asking again.
export const runResponses = new Map();

// Submits a run (`body`: a query's {sql} or a template's {template_id, parameters}) and returns
// what its page shows: the run's state while it is queued or running, else what the run
// answered (its result, its rejection, or its error), with the SQL it was asked with.
export async function submitRun(collaboration, body, sql) {
  const response = await post(collaborationPath(collaboration, 'runs'), body);
  const shown = response.outcome && !['queued', 'running'].includes(response.status)
    ? { ...response.outcome, query_id: response.query_id, status: response.status, sql }
    : { ...response, sql };
  runResponses.set(`${collaboration}/${response.query_id}`, shown);
  return shown;
}

export function Rejection({ sql, explanation }) {
  const violations = explanation.violations || [];
  const pieces = highlightPieces(sql, violations);
  return html`<section class="rejection" aria-labelledby="rejection-title" data-testid="rejection">
    <h2 id="rejection-title">Rejected by the rules</h2>
    <pre class="sql" data-testid="rejected-sql">${pieces.map((piece, i) => (piece.violations.length
      ? html`<mark key=${i} data-violations=${piece.violations.join(' ')}
          title=${piece.violations.map((v) => violations[v].message).join('\n')}>${piece.text}</mark>`
      : piece.text))}</pre>
    <ol class="violations" data-testid="violations">
      ${violations.map((v, i) => html`<li key=${i} data-code=${v.code}>
        <strong>${v.message}</strong>
        ${v.position && html` <span class="where">(${v.position}${v.clause ? `, ${v.clause}` : ''})</span>`}
        ${v.hint && html`<div class="hint">${v.hint}</div>`}
        ${(v.table || v.owner) && html`<div class="meta">rule of ${v.table || ''}${v.owner ? ` (owner ${v.owner})` : ''}</div>`}
      </li>`)}
    </ol>
  </section>`;
}

export function ResultTable({ result }) {
  const [sort, setSort] = useState(null);  // {index, descending}
  const rows = sort
    ? sortRows(result.rows, sort.index, isNumberColumn(result.columns[sort.index]), sort.descending)
    : result.rows;
  const toggle = (index) => setSort(sort && sort.index === index
    ? { index, descending: !sort.descending } : { index, descending: false });
  const ariaSort = (i) => (sort && sort.index === i ? (sort.descending ? 'descending' : 'ascending') : 'none');
  return html`<table class="grid result" data-testid="result-table">
    <caption>${result.rows.length} rows</caption>
    <thead><tr>${result.columns.map((c, i) => html`<th key=${c.name} scope="col" aria-sort=${ariaSort(i)}>
      <button type="button" class="sort" onClick=${() => toggle(i)}>${c.name}
        <span class="type">${c.type}</span></button></th>`)}</tr></thead>
    <tbody>${rows.slice(0, 1000).map((row, r) => html`<tr key=${r}>${row.map((value, i) => html`
      <td key=${i} class=${isNumberColumn(result.columns[i]) ? 'number' : ''}>${value === null ? html`<em>NULL</em>` : value}</td>`)}</tr>`)}
    </tbody></table>`;
}

function Downloads({ result, name }) {
  const [urls, setUrls] = useState(null);
  useEffect(() => {
    const csv = URL.createObjectURL(new Blob([toCsv(result)], { type: 'text/csv' }));
    const json = URL.createObjectURL(new Blob([JSON.stringify(toJsonRows(result), null, 2)],
                                              { type: 'application/json' }));
    const parquet = URL.createObjectURL(new Blob([toParquet(result)],
                                                 { type: 'application/vnd.apache.parquet' }));
    setUrls({ csv, json, parquet });
    return () => [csv, json, parquet].forEach((url) => URL.revokeObjectURL(url));
  }, [result]);
  if (!urls) return null;
  return html`<p class="downloads">Download: <a href=${urls.csv} download=${`${name}.csv`}>CSV</a>
    · <a href=${urls.json} download=${`${name}.json`}>JSON</a>
    · <a href=${urls.parquet} download=${`${name}.parquet`}>Parquet</a></p>`;
}

export function ResultView({ result, name }) {
  const chart = chooseChart(result);
  return html`<div class="result-view">
    <${ChartView} chart=${chart} />
    <${Downloads} result=${result} name=${name} />
    <${ResultTable} result=${result} />
  </div>`;
}

// An asynchronous run (the shape of GET .../runs/{query_id}: status, queue_position, progress
// "0.0".."100.0", and once done the synchronous run's response as `outcome`), polled until it
// ends; Cancel asks POST .../runs/{query_id}/cancel.
function Progress({ collaboration, run, onDone }) {
  const [state, setState] = useState(run);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const poll = async () => {
      while (live) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (!live) return;
        const next = await get(collaborationPath(collaboration, 'runs', run.query_id));
        setState(next);
        if (!['queued', 'running'].includes(next.status)) {
          onDone(next.outcome && !next.error ? { ...next.outcome, sql: run.sql } : { ...next, sql: run.sql });
          return;
        }
      }
    };
    poll().catch((e) => live && setError(e));
    return () => { live = false; };
  }, [run.query_id]);
  const percent = state.progress !== undefined ? Number(state.progress) : undefined;
  return html`<section aria-labelledby="run-title" data-testid="run">
    <h1 id="run-title">Run ${run.query_id}</h1>
    <div class="progress-box" data-testid="progress" data-status=${state.status}>
      <progress max="100" value=${percent ?? 0} aria-label="progress of the run"></progress>
      <span role="status">${state.status}${state.queue_position ? ` (position ${state.queue_position} in the queue)` : ''}
        ${percent !== undefined ? ` ${percent.toFixed(1)}%` : ''}</span>
      <${ActionButton} label="Cancel" testid="cancel-run"
        action=${() => post(collaborationPath(collaboration, 'runs', run.query_id, 'cancel'), {})} />
      <${ErrorBox} error=${error} />
    </div>
    ${run.sql && html`<pre class="sql">${run.sql}</pre>`}
  </section>`;
}

export function RunPage({ collaboration, queryId }) {
  const [run, setRun] = useState(runResponses.get(`${collaboration}/${queryId}`) || null);
  const pending = Boolean(run && ['queued', 'running'].includes(run.status));
  const [state] = useLoad(async () => {
    if (pending) return null;
    if (run && (run.result || run.explanation || run.error || run.sealed)) return run;
    if (!run) {
      // Opened by its URL: its runner sees a run still going (and follows it); anyone else, or
      // a run the server no longer holds, is answered by the result route.
      const status = await get(collaborationPath(collaboration, 'runs', queryId)).catch(() => null);
      if (status && ['queued', 'running'].includes(status.status)) {
        setRun(status);
        return null;
      }
      if (status && status.outcome && !status.error) return status.outcome;
      if (status && status.error) return status;
    }
    return get(collaborationPath(collaboration, 'queries', queryId, 'result'));
  }, [collaboration, queryId, pending, run]);
  if (pending) {
    return html`<${Progress} collaboration=${collaboration} run=${run} onDone=${setRun} />`;
  }
  return html`<section aria-labelledby="run-title" data-testid="run">
    <h1 id="run-title">Run ${queryId}</h1>
    <${Loaded} state=${state} what="the result">${(data) => (data.result
      ? html`<${ResultView} result=${data.result} name=${`${collaboration}-${queryId}`} />`
      : data.error ? html`<${ErrorBox} error=${data.error} />`
      : data.sealed ? html`<p data-testid="sealed">This result is sealed to your key: open it with
          <code>parley query result</code>, which holds the key.</p>`
      : data.explanation && !data.explanation.allowed
        ? html`<${Rejection} sql=${data.sql || ''} explanation=${data.explanation} />`
        : html`<p>This run's result goes to ${(data.receivers || []).join(', ')}; you are not one of its receivers.</p>`)}<//>
  </section>`;
}

function QueryTable({ collaboration, queries, caption, testid }) {
  return html`<table class="grid" data-testid=${testid}>
    <caption>${caption}</caption>
    <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Runner</th>
      <th scope="col">Tables</th><th scope="col">Status</th><th scope="col">Rows</th>
      <th scope="col">SQL</th></tr></thead>
    <tbody>${[...queries].reverse().map((q) => html`<tr key=${q.id}>
      <td>${q.row_count !== undefined ? html`<a href=${link('c', collaboration, 'runs', q.id)}>${q.id}</a>` : q.id}</td>
      <td>${formatTime(q.created_at)}</td><td>${q.runner}</td><td>${q.tables.join(', ')}</td>
      <td>${q.status}</td><td>${q.row_count ?? ''}</td>
      <td><code>${q.sql.length > 160 ? `${q.sql.slice(0, 160)}…` : q.sql}</code></td>
    </tr>`)}</tbody></table>`;
}

// Your runs; and, in a collaboration that logs queries, the query log: every query that read a
// table of yours, whoever ran it (its SQL, never its result).
export function RunsPage({ collaboration }) {
  const [state] = useLoad(async () => {
    const [mine, info] = await Promise.all([
      get(collaborationPath(collaboration, 'queries')),
      get(collaborationPath(collaboration)),
    ]);
    const log = info.collaboration.query_logging
      ? (await get(collaborationPath(collaboration, 'query-log'))).queries : null;
    return { queries: mine.queries, log };
  }, [collaboration]);
  return html`<section aria-labelledby="runs-title">
    <h1 id="runs-title">Runs</h1>
    <${Loaded} state=${state} what="runs">${({ queries, log }) => html`
      ${queries.length ? html`<${QueryTable} collaboration=${collaboration} queries=${queries}
          caption=${`${queries.length} queries`} testid="runs" />`
        : html`<p data-testid="no-runs">No queries of yours yet.</p>`}
      <h2>Query log</h2>
      ${log === null ? html`<p>This collaboration does not log queries.</p>`
        : html`<${QueryTable} collaboration=${collaboration} queries=${log}
            caption=${`${log.length} queries read your tables`} testid="query-log" />`}`}<//>
  </section>`;
}

export { ErrorBox };
