// Templates: each with its SQL, parameters and approval state per table; the owner of a table
// approves or revokes; a runnable template runs with its parameters.
import { useState } from 'preact/hooks';
import { get, post, del, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, ActionButton, navigate, link, formatTime } from '../ui.js';
import { submitRun } from './runs.js';

function RunTemplate({ collaboration, template }) {
  const [values, setValues] = useState(Object.fromEntries(
    template.parameters.map((p) => [p.name, p.default ?? ''])));
  const [error, setError] = useState(null);
  const run = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const parameters = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
      const response = await submitRun(collaboration, { template_id: template.id, parameters },
                                       template.sql);
      navigate(link('c', collaboration, 'runs', response.query_id));
    } catch (e) {
      setError(e);
    }
  };
  return html`<form class="inline-form" onSubmit=${run}>
    ${template.parameters.map((p) => html`<label key=${p.name}>${p.name} (${p.type})
      <input value=${values[p.name]} onInput=${(e) => setValues({ ...values, [p.name]: e.target.value })} /></label>`)}
    <button type="submit" class="primary" disabled=${!template.runnable}
      data-testid=${`run-template-${template.name}`}>Run</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function TemplatesPage({ collaboration, me }) {
  // Approvals matter for tables with a custom rule (and saved results, approved by each
  // co-owner); an aggregation or list rule judges every run itself, so such a table shows as
  // approved with nothing to decide.
  const [state, reload] = useLoad(async () => {
    const [list, tables] = await Promise.all([
      get(collaborationPath(collaboration, 'templates')),
      get(collaborationPath(collaboration, 'tables')),
    ]);
    const decides = new Set(tables.tables.filter((t) => !t.rule || t.rule.kind === 'custom')
      .map((t) => t.name));
    return { templates: list.templates, decides };
  }, [collaboration]);
  const approve = (template, table) => async () => {
    await post(collaborationPath(collaboration, 'templates', template.id, 'approvals'), { table });
    reload();
  };
  const revoke = (template, table) => async () => {
    await del(collaborationPath(collaboration, 'templates', template.id, 'approvals', table));
    reload();
  };
  return html`<section aria-labelledby="templates-title">
    <h1 id="templates-title">Templates</h1>
    <p>Save a template from the Analyses tab. Each table's owner approves a template before it runs.</p>
    <${Loaded} state=${state} what="templates">${({ templates, decides }) => (templates.length
      ? templates.map((t) => html`<article class="card template" key=${t.id} data-template=${t.name}
          aria-labelledby=${`template-${t.id}`}>
        <h2 id=${`template-${t.id}`}>${t.name} <span class=${`badge ${t.runnable ? 'ok' : 'waiting'}`}
          data-testid="runnable">${t.runnable ? 'runnable' : 'waiting for approvals'}</span></h2>
        <p>by ${t.author}, ${formatTime(t.created_at)}${t.altered ? ' · altered since approval' : ''}</p>
        <pre class="sql">${t.sql}</pre>
        ${t.parameters.length > 0 && html`<p>Parameters: ${t.parameters.map((p) =>
          `${p.name}: ${p.type}${p.default !== undefined ? ` = ${p.default}` : ''}`).join(', ')}</p>`}
        <table class="grid">
          <caption>Approvals</caption>
          <thead><tr><th scope="col">Table</th><th scope="col">Owner</th><th scope="col">State</th><th scope="col">Action</th></tr></thead>
          <tbody>${t.tables.map((a) => html`<tr key=${a.table} data-approval=${a.table}>
            <td>${a.table}</td><td>${a.owner}</td>
            <td>${a.approved ? `approved${a.approved_by ? ` by ${a.approved_by.join(', ')}` : ''}` : 'not approved'}
              ${a.pending && a.pending.length ? ` (waiting for ${a.pending.join(', ')})` : ''}</td>
            <td>${a.owner === me && (decides.has(a.table) || a.pending) && (a.approved
              ? html`<${ActionButton} label="Revoke" action=${revoke(t, a.table)} testid=${`revoke-${t.name}-${a.table}`} />`
              : html`<${ActionButton} label="Approve" kind="primary" action=${approve(t, a.table)} testid=${`approve-${t.name}-${a.table}`} />`)}</td>
          </tr>`)}</tbody></table>
        <${RunTemplate} collaboration=${collaboration} template=${t} />
      </article>`)
      : html`<p>No templates yet.</p>`)}<//>
  </section>`;
}

export { ErrorBox };
