// The collaboration's audit log (newest first, shown a page at a time) and its verification: the
// server recomputes the hash chain and says whether it is intact, or where it breaks.
import { useState } from 'preact/hooks';
import { get, post, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, formatTime } from '../ui.js';

const PAGE = 200;

export function AuditPage({ collaboration }) {
  const [state] = useLoad(() => get(collaborationPath(collaboration, 'audit')), [collaboration]);
  const [shown, setShown] = useState(PAGE);
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
    <${Loaded} state=${state} what="the audit log">${({ entries }) => {
      const newest = [...entries].reverse();
      return html`<table class="grid" data-testid="audit">
        <caption>${entries.length} entries</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Actor</th>
          <th scope="col">Action</th><th scope="col">Details</th></tr></thead>
        <tbody>${newest.slice(0, shown).map((e) => html`<tr key=${e.seq}>
          <td>${e.seq}</td><td>${formatTime(e.time)}</td><td>${e.actor}</td><td>${e.action}</td>
          <td><code>${JSON.stringify(e.details)}</code></td></tr>`)}</tbody>
      </table>
      ${shown < entries.length && html`<button type="button" class="secondary"
        onClick=${() => setShown(shown + PAGE)}>Show ${Math.min(PAGE, entries.length - shown)} more</button>`}`;
    }}<//>
  </section>`;
}
