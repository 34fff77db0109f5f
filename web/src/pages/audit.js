// The collaboration's audit log, newest first, a page at a time from the server (`?limit=`, then
// `?before=` the page's `next`: a log of 10,000 entries is never fetched whole), and its
// verification: the server recomputes the whole hash chain and says whether it is intact, or
// where it breaks.
import { useState } from 'preact/hooks';
import { get, post, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, formatTime } from '../ui.js';

export const AUDIT_PAGE = 100;

// The path of one page: the newest entries, or those before `before`.
export function auditPagePath(collaboration, before) {
  const path = collaborationPath(collaboration, 'audit');
  return before ? `${path}?limit=${AUDIT_PAGE}&before=${before}` : `${path}?limit=${AUDIT_PAGE}`;
}

function AuditTable({ collaboration, first }) {
  // Older pages appended as they are asked for; `next` is where the last one stopped.
  const [pages, setPages] = useState({ entries: first.entries, next: first.next });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const older = async () => {
    setBusy(true);
    setError(null);
    try {
      const page = await get(auditPagePath(collaboration, pages.next));
      setPages({ entries: [...pages.entries, ...page.entries], next: page.next });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const { entries, next } = pages;
  return html`<table class="grid" data-testid="audit">
      <caption>${first.head_seq} entries${next ? `, the newest ${entries.length} shown` : ''}</caption>
      <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Actor</th>
        <th scope="col">Action</th><th scope="col">Details</th></tr></thead>
      <tbody>${entries.map((e) => html`<tr key=${e.seq}>
        <td>${e.seq}</td><td>${formatTime(e.time)}</td><td>${e.actor}</td><td>${e.action}</td>
        <td><code>${JSON.stringify(e.details)}</code></td></tr>`)}</tbody>
    </table>
    <${ErrorBox} error=${error} />
    ${next && html`<button type="button" class="secondary" disabled=${busy} onClick=${older}
      data-testid="audit-older">${busy ? 'Loading…' : `Show ${Math.min(AUDIT_PAGE, next - 1)} older`}</button>`}`;
}

export function AuditPage({ collaboration }) {
  const [state] = useLoad(() => get(auditPagePath(collaboration)), [collaboration]);
  const [verdict, setVerdict] = useState(null);
  const [error, setError] = useState(null);
  const verify = async () => {
    setError(null);
    setVerdict(null);
    try {
      setVerdict(await post(collaborationPath(collaboration, 'audit', 'verify'), {}));
    } catch (e) {
      setError(e);
    }
  };
  return html`<section aria-labelledby="audit-title">
    <h1 id="audit-title">Audit log</h1>
    <p><button type="button" class="primary" onClick=${verify}>Verify the chain</button>
      ${verdict && html` <span role="status" data-testid="audit-verdict" class=${verdict.ok ? 'ok' : 'error'}>
        ${verdict.ok ? `Intact: ${verdict.entries} entries verified.` : `Broken: ${verdict.problem}`}</span>`}</p>
    <${ErrorBox} error=${error} />
    <${Loaded} state=${state} what="the audit log">${(first) =>
      html`<${AuditTable} key=${collaboration} collaboration=${collaboration} first=${first} />`}<//>
  </section>`;
}
