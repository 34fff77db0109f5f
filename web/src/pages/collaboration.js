// One collaboration: its tabs (overview, tables, analyses, templates, jobs, runs, usage, audit),
// each a page of its own module.
import { html, link } from '../ui.js';
import { OverviewPage } from './overview.js';
import { TablesPage, TablePage } from './tables.js';
import { AnalysesPage } from './analyses.js';
import { TemplatesPage } from './templates.js';
import { RunsPage, RunPage } from './runs.js';
import { AuditPage } from './audit.js';
import { JobsPage, JobRunPage } from './jobs.js';
import { UsagePage } from './usage.js';

const TABS = [
  ['', 'Overview'], ['tables', 'Tables'], ['analyses', 'Analyses'], ['templates', 'Templates'],
  ['jobs', 'Jobs'], ['runs', 'Runs'], ['usage', 'Usage'], ['audit', 'Audit'],
];

export function CollaborationPage({ name, view, me }) {
  const [tab, id] = view;
  let page;
  if (tab === 'tables' && id) page = html`<${TablePage} key=${id} collaboration=${name} table=${id} me=${me} />`;
  else if (tab === 'tables') page = html`<${TablesPage} collaboration=${name} me=${me} />`;
  else if (tab === 'analyses') page = html`<${AnalysesPage} collaboration=${name} me=${me} />`;
  else if (tab === 'templates') page = html`<${TemplatesPage} collaboration=${name} me=${me} />`;
  else if (tab === 'runs' && id) page = html`<${RunPage} key=${id} collaboration=${name} queryId=${id} />`;
  else if (tab === 'runs') page = html`<${RunsPage} collaboration=${name} />`;
  else if (tab === 'jobs' && id === 'runs' && view[2]) page = html`<${JobRunPage} key=${view[2]} collaboration=${name} runId=${view[2]} />`;
  else if (tab === 'jobs') page = html`<${JobsPage} collaboration=${name} me=${me} />`;
  else if (tab === 'usage') page = html`<${UsagePage} collaboration=${name} />`;
  else if (tab === 'audit') page = html`<${AuditPage} collaboration=${name} />`;
  else page = html`<${OverviewPage} collaboration=${name} me=${me} />`;
  return html`<div class="page">
    <p class="crumbs"><a href="#/">Collaborations</a> / <strong>${name}</strong></p>
    <nav class="tabs" aria-label="collaboration">
      ${TABS.map(([key, label]) => html`<a key=${key} href=${key ? link('c', name, key) : link('c', name)}
        aria-current=${(tab || '') === key ? 'page' : undefined}>${label}</a>`)}
    </nav>
    ${page}
  </div>`;
}
