// A collaboration's overview: members and abilities, invitations (the one-time code shown once),
// change requests with approve / deny / cancel, and the settings every member must agree to
// (query logging, who pays).
import { useState } from 'preact/hooks';
import { get, post, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, ActionButton, formatTime } from '../ui.js';

function InviteForm({ collaboration, onInvited }) {
  const [member, setMember] = useState('');
  const [abilities, setAbilities] = useState({ query: true, receive: true, run_jobs: false });
  const [invited, setInvited] = useState(null);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const response = await post(collaborationPath(collaboration, 'invitations'), {
        member: member.trim(),
        abilities: Object.keys(abilities).filter((a) => abilities[a]),
      });
      setInvited(response);
      setMember('');
      onInvited();
    } catch (e) {
      setError(e);
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="invite-title">
    <h2 id="invite-title">Invite an organisation</h2>
    <label for="invite-member">Organisation</label>
    <input id="invite-member" required value=${member} onInput=${(e) => setMember(e.target.value)} />
    <fieldset><legend>Its abilities</legend>
      ${['query', 'receive', 'run_jobs'].map((a) => html`<label class="check" key=${a}><input type="checkbox"
        checked=${abilities[a]} onChange=${() => setAbilities({ ...abilities, [a]: !abilities[a] })} />
        ${a}</label>`)}
    </fieldset>
    <button type="submit" class="primary">Invite</button>
    <${ErrorBox} error=${error} />
    ${invited && html`<div class="code" role="status">
      <p>Give this one-time code to <strong>${invited.member}</strong>; it is shown only now and
        expires ${formatTime(invited.expires_at)}.</p>
      <output data-testid="invite-code">${invited.code}</output></div>`}
  </form>`;
}

const RECENT_DECIDED = 20;

function Changes({ collaboration, me, changes, reload }) {
  const act = (id, verb) => async () => {
    await post(collaborationPath(collaboration, 'changes', id, verb), {});
    reload();
  };
  const describe = (c) => {
    if (c.kind === 'add_member') return `add ${c.member} (${(c.abilities || []).join(', ') || 'no abilities'})`;
    if (c.kind === 'abilities') return `${c.member}'s abilities → ${(c.abilities || []).join(', ') || 'none'}`;
    if (c.kind === 'payer') return `payer → ${c.payer}`;
    if (c.kind === 'query_logging') return `query logging → ${c.query_logging ? 'on' : 'off'}`;
    if (c.kind === 'privacy_budget') return 'privacy budget';
    return c.kind;
  };
  // Every pending request, and the latest decided ones (a long-lived room has thousands).
  const [all, setAll] = useState(false);
  if (!changes.length) return html`<p>No change requests.</p>`;
  const decided = changes.filter((c) => c.status !== 'pending');
  const hidden = all ? 0 : Math.max(0, decided.length - RECENT_DECIDED);
  const keep = new Set(decided.slice(hidden).map((c) => c.id));
  const shown = changes.filter((c) => c.status === 'pending' || keep.has(c.id));
  return html`<table class="grid" data-testid="changes">
    <caption>Change requests${hidden ? ` (pending ones and the latest ${RECENT_DECIDED} decided of ${decided.length})` : ''}
      ${hidden > 0 && html` <button type="button" class="link" onClick=${() => setAll(true)}>Show all</button>`}</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Change</th><th scope="col">Proposer</th>
      <th scope="col">Status</th><th scope="col">Waiting for</th><th scope="col">Decide</th></tr></thead>
    <tbody>${shown.map((c) => html`<tr key=${c.id} data-change=${c.id}>
      <td>${c.id}</td><td>${describe(c)}</td><td>${c.proposer}</td><td>${c.status}</td>
      <td>${c.waiting_for.join(', ')}</td>
      <td>${c.status === 'pending' && c.waiting_for.includes(me) && html`
          <${ActionButton} label="Approve" kind="primary" action=${act(c.id, 'approve')} />
          <${ActionButton} label="Deny" action=${act(c.id, 'deny')} />`}
        ${c.status === 'pending' && c.proposer === me && html`
          <${ActionButton} label="Cancel" action=${act(c.id, 'cancel')} />`}</td>
    </tr>`)}</tbody></table>`;
}

function Settings({ collaboration, info, reload }) {
  const [payer, setPayer] = useState(info.payer);
  const propose = (body) => async () => {
    await post(collaborationPath(collaboration, 'changes'), body);
    reload();
  };
  return html`<section class="card" aria-labelledby="settings-title">
    <h2 id="settings-title">Settings</h2>
    <p>Every member approves a change before it takes effect.</p>
    <p>Query logging is <strong data-testid="query-logging">${info.query_logging ? 'on' : 'off'}</strong>.
      <${ActionButton} label=${info.query_logging ? 'Propose turning it off' : 'Propose turning it on'}
        action=${propose({ kind: 'query_logging', query_logging: !info.query_logging })}
        testid="propose-logging" /></p>
    <label for="payer">Who pays for queries</label>
    <select id="payer" value=${payer} onChange=${(e) => setPayer(e.target.value)}>
      <option value="runner">the member who runs each query</option>
      ${info.members.map((m) => html`<option key=${m.name} value=${m.name}>${m.name}</option>`)}
    </select>
    <${ActionButton} label="Propose payer" action=${propose({ kind: 'payer', payer })} />
  </section>`;
}

export function OverviewPage({ collaboration, me }) {
  // Two small requests, side by side; the tables (a thousand, with their columns, in a large
  // room) are the Tables tab's, not fetched here (bench/README.md, the console's first paint).
  const [state, reload] = useLoad(async () => {
    const [info, changes] = await Promise.all([
      get(collaborationPath(collaboration)),
      get(collaborationPath(collaboration, 'changes')),
    ]);
    return { info: info.collaboration, changes: changes.changes };
  }, [collaboration]);
  return html`<${Loaded} state=${state} what="the collaboration">${({ info, changes }) => html`
    <section aria-labelledby="overview-title" data-testid="overview">
      <h1 id="overview-title">${info.name}</h1>
      ${info.description && html`<p>${info.description}</p>`}
      <p>Created by ${info.creator} on ${formatTime(info.created_at)} · ${info.state} ·
        payer: ${info.payer}</p>
      <table class="grid" data-testid="members">
        <caption>Members and abilities</caption>
        <thead><tr><th scope="col">Member</th><th scope="col">Abilities</th>
          <th scope="col">Status</th></tr></thead>
        <tbody>${info.members.map((m) => html`<tr key=${m.name}><td>${m.name}${m.name === me ? ' (you)' : ''}</td>
          <td>${m.abilities.join(', ') || 'none'}</td><td>${m.status}</td></tr>`)}</tbody>
      </table>
    </section>
    <${Changes} collaboration=${collaboration} me=${me} changes=${changes} reload=${reload} />
    <div class="columns">
      ${info.creator === me && html`<${InviteForm} collaboration=${collaboration} onInvited=${reload} />`}
      <${Settings} collaboration=${collaboration} info=${info} reload=${reload} />
    </div>`}<//>`;
}
