// Jobs (issue 12): approved code that runs in the server's sandbox over partners' tables. Each
// job with its code (a notebook's cells as text), inputs, parameters and approval state; the
// owner of an input approves or revokes; a runnable job runs with its parameters, and its run's
// page shows the outputs inline (images, HTML reports in a sandboxed frame, CSV as a sortable
// table) to its receivers only: anyone else gets the API's refusal, even with the run's URL.
import { useEffect, useState } from 'preact/hooks';
import { get, post, del, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, ActionButton, navigate, link, formatTime } from '../ui.js';
import { base64ToBytes, outputKind, parseCsv } from '../job_outputs.js';
import { ResultTable } from './runs.js';

// Runs made from this tab, so the run's page shows them without asking again.
const jobRuns = new Map();

function RunJob({ collaboration, job }) {
  const [values, setValues] = useState(Object.fromEntries(
    job.parameters.map((p) => [p.name, p.default ?? ''])));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const parameters = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
      const { run: done } = await post(collaborationPath(collaboration, 'jobs', job.id, 'runs'),
                                       { parameters });
      jobRuns.set(`${collaboration}/${done.run_id}`, done);
      navigate(link('c', collaboration, 'jobs', 'runs', done.run_id));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="inline-form" onSubmit=${run}>
    ${job.parameters.map((p) => html`<label key=${p.name}>${p.name} (${p.type})
      <input value=${values[p.name]} onInput=${(e) => setValues({ ...values, [p.name]: e.target.value })} /></label>`)}
    <button type="submit" class="primary" disabled=${!job.runnable || busy}
      data-testid=${`run-job-${job.name}`}>${busy ? 'Running…' : 'Run'}</button>
    ${busy && html`<span class="loading" role="status"><span class="spinner" aria-hidden="true"></span> Running in the sandbox…</span>`}
    <${ErrorBox} error=${error} />
  </form>`;
}

function JobCard({ collaboration, job, me, reload }) {
  const approve = (input) => async () => {
    await post(collaborationPath(collaboration, 'jobs', job.id, 'approvals'), { input });
    reload();
  };
  const revoke = (input) => async () => {
    await del(collaborationPath(collaboration, 'jobs', job.id, 'approvals', input));
    reload();
  };
  const titleId = `job-${job.id.slice(0, 16)}`;
  return html`<article class="card template" data-job=${job.name} aria-labelledby=${titleId}>
    <h2 id=${titleId}>${job.name} <span class=${`badge ${job.runnable ? 'ok' : 'waiting'}`}
      data-testid="runnable">${job.runnable ? 'runnable' : 'waiting for approvals'}</span></h2>
    <p>${job.runtime} job by ${job.author}, ${formatTime(job.created_at)} · id <code>${job.id.slice(0, 12)}</code>
      ${job.altered ? html` · <strong class="error">altered after it was created: it does not run</strong>` : ''}</p>
    <p>Inputs: ${job.inputs.map((i) => `${i.table} (${i.columns.join(', ')})`).join('; ') || 'none'}
      ${job.assets.length ? ` · assets: ${job.assets.join(', ')}` : ''}</p>
    ${job.parameters.length > 0 && html`<p>Parameters: ${job.parameters.map((p) =>
      `${p.name}: ${p.type}${p.default !== undefined ? ` = ${p.default}` : ''}`).join(', ')}</p>`}
    <details open>
      <summary>Code: <code>${job.code_name}</code>${job.runtime === 'notebook' ? ' (cells as text)' : ''}</summary>
      <pre class="sql" data-testid="job-code">${job.code_text || job.code}</pre>
    </details>
    <table class="grid">
      <caption>Approvals</caption>
      <thead><tr><th scope="col">Input</th><th scope="col">Owner</th><th scope="col">State</th><th scope="col">Action</th></tr></thead>
      <tbody>${job.approvals.map((a) => html`<tr key=${`${a.kind}/${a.name}`} data-approval=${a.name}>
        <td>${a.kind} ${a.name}</td><td>${a.owner}</td><td>${a.approved ? 'approved' : 'not approved'}</td>
        <td>${a.owner === me && (a.approved
          ? html`<${ActionButton} label="Revoke" action=${revoke(a.name)} testid=${`revoke-job-${job.name}-${a.name}`} />`
          : html`<${ActionButton} label="Approve" kind="primary" action=${approve(a.name)} testid=${`approve-job-${job.name}-${a.name}`} />`)}</td>
      </tr>`)}</tbody></table>
    <${RunJob} collaboration=${collaboration} job=${job} />
  </article>`;
}

export function JobsPage({ collaboration, me }) {
  const [state, reload] = useLoad(() => get(collaborationPath(collaboration, 'jobs')), [collaboration]);
  const [runId, setRunId] = useState('');
  return html`<section aria-labelledby="jobs-title">
    <h1 id="jobs-title">Jobs</h1>
    <p>Code (Python, R, notebooks) that runs in the server's sandbox over the tables it names. The
      owner of each input approves a job before it runs; its outputs go to its receivers only.
      Create one with <code>parley job create</code>.</p>
    <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); if (runId) navigate(link('c', collaboration, 'jobs', 'runs', runId)); }}>
      <label>Open job run # <input inputmode="numeric" value=${runId} onInput=${(e) => setRunId(e.target.value.trim())} /></label>
      <button type="submit" class="secondary">Open</button>
    </form>
    <${Loaded} state=${state} what="jobs">${({ jobs }) => (jobs.length
      ? jobs.map((j) => html`<${JobCard} key=${j.id} collaboration=${collaboration} job=${j} me=${me} reload=${reload} />`)
      : html`<p data-testid="no-jobs">No jobs yet.</p>`)}<//>
  </section>`;
}

function Output({ output }) {
  const { kind, type } = output.sealed ? { kind: 'sealed', type: 'application/octet-stream' }
    : outputKind(output.name);
  const [url, setUrl] = useState(null);
  const bytes = output.content_base64 !== undefined ? base64ToBytes(output.content_base64) : null;
  useEffect(() => {
    if (!bytes) return undefined;
    const made = URL.createObjectURL(new Blob([bytes], { type }));
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [output.sha256, output.content_base64 !== undefined]);
  const head = html`<h3>${output.name} <span class="type">${output.bytes.toLocaleString('en-US')} bytes</span></h3>`;
  if (!bytes) {
    return html`<figure class="card output" data-output=${output.name}>${head}
      <p>Only this run's receivers get the file's content.</p></figure>`;
  }
  if (!url) return null;
  if (output.sealed) {
    // Sealed to the receivers' keys: only the client holding the private key opens it.
    return html`<figure class="card output" data-output=${output.name} data-kind="sealed">${head}
      <p>Sealed to your key: open it with <code>parley job result</code>, which holds the key.</p>
      <figcaption><a href=${url} download=${`${output.name}.sealed`}>Download the sealed file</a></figcaption></figure>`;
  }
  const download = html`<a href=${url} download=${output.name}>Download ${output.name}</a>`;
  let body;
  if (kind === 'image') {
    body = html`<img src=${url} alt=${`output ${output.name} of the job`} data-testid="job-image" />`;
  } else if (kind === 'html') {
    // sandbox="": no script, no forms, an opaque origin: the report cannot reach the console.
    body = html`<iframe src=${url} sandbox="" title=${`report ${output.name}`} data-testid="job-report"></iframe>`;
  } else if (kind === 'table') {
    body = html`<${ResultTable} result=${parseCsv(new TextDecoder().decode(bytes))} />`;
  } else if (kind === 'text') {
    body = html`<pre class="sql">${new TextDecoder().decode(bytes)}</pre>`;
  }
  return html`<figure class="card output" data-output=${output.name} data-kind=${kind}>${head}${body}
    <figcaption>${download}</figcaption></figure>`;
}

export function JobRunPage({ collaboration, runId }) {
  const [state] = useLoad(async () => {
    const cached = jobRuns.get(`${collaboration}/${runId}`);
    if (cached) return cached;
    return (await get(collaborationPath(collaboration, 'job-runs', runId))).run;
  }, [collaboration, runId]);
  return html`<section aria-labelledby="job-run-title" data-testid="job-run">
    <h1 id="job-run-title">Job run ${runId}</h1>
    <${Loaded} state=${state} what="the job run">${(run) => html`
      <p data-testid="job-run-status" data-status=${run.status}><strong>${run.status}</strong>
        ${run.reason ? ` (${run.reason})` : ''} · job <code>${run.job_id.slice(0, 12)}</code> ·
        ${(run.wall_micros / 1e6).toFixed(2)} s · for ${run.receivers.join(', ')}</p>
      ${run.stdout !== undefined && run.stdout !== '' && html`<details><summary>Standard output</summary><pre class="sql">${run.stdout}</pre></details>`}
      ${run.stderr !== undefined && run.stderr !== '' && html`<details><summary>Standard error</summary><pre class="sql">${run.stderr}</pre></details>`}
      <div class="outputs">${run.outputs.map((o) => html`<${Output} key=${o.name} output=${o} />`)}</div>
      ${run.outputs.length === 0 && html`<p>No outputs.</p>`}`}<//>
  </section>`;
}
