// The collaborations the organisation belongs to; create one; join one with an invitation code.
import { useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { html, useLoad, Loaded, ErrorBox, navigate, link, formatTime } from '../ui.js';

function CreateForm() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [abilities, setAbilities] = useState({ query: true, receive: true, run_jobs: false });
  const [logging, setLogging] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = {
        name: name.trim(),
        creator_abilities: Object.keys(abilities).filter((a) => abilities[a]),
        query_logging: logging,
      };
      if (description.trim()) body.description = description.trim();
      const created = await post('/api/v1/collaborations', body);
      navigate(link('c', created.collaboration.name));
    } catch (e) {
      setError(e);
    }
  };
  const toggle = (ability) => setAbilities({ ...abilities, [ability]: !abilities[ability] });
  return html`<form class="card" onSubmit=${submit} aria-labelledby="create-title">
    <h2 id="create-title">Create a collaboration</h2>
    <label for="new-name">Name</label>
    <input id="new-name" required value=${name} onInput=${(e) => setName(e.target.value)} />
    <label for="new-description">Description</label>
    <input id="new-description" value=${description}
      onInput=${(e) => setDescription(e.target.value)} />
    <fieldset>
      <legend>Your abilities</legend>
      ${['query', 'receive', 'run_jobs'].map((a) => html`<label class="check" key=${a}>
        <input type="checkbox" checked=${abilities[a]} onChange=${() => toggle(a)} /> ${a}</label>`)}
    </fieldset>
    <label class="check"><input type="checkbox" checked=${logging}
      onChange=${() => setLogging(!logging)} /> Log every query's SQL for the table owners</label>
    <button type="submit" class="primary">Create</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

function JoinForm() {
  const [code, setCode] = useState('');
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const joined = await post('/api/v1/join', { code: code.trim() });
      navigate(link('c', joined.collaboration));
    } catch (e) {
      setError(e);
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="join-title">
    <h2 id="join-title">Join with an invitation code</h2>
    <label for="join-code">Invitation code</label>
    <input id="join-code" required value=${code} onInput=${(e) => setCode(e.target.value)}
      placeholder="pi_…" autocomplete="off" />
    <button type="submit" class="primary">Join</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function CollaborationsPage({ me }) {
  const [state] = useLoad(() => get('/api/v1/collaborations'), []);
  return html`<div class="page">
    <h1>Collaborations</h1>
    <${Loaded} state=${state} what="collaborations">${(data) => (data.collaborations.length
      ? html`<table class="grid" data-testid="collaborations">
          <caption>Collaborations ${me} belongs to</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Description</th>
            <th scope="col">Creator</th><th scope="col">Members</th><th scope="col">State</th>
            <th scope="col">Created</th></tr></thead>
          <tbody>${data.collaborations.map((c) => html`<tr key=${c.name}>
            <td><a href=${link('c', c.name)}>${c.name}</a></td><td>${c.description || ''}</td>
            <td>${c.creator}</td><td>${c.members.length}</td><td>${c.state}</td>
            <td>${formatTime(c.created_at)}</td></tr>`)}</tbody></table>`
      : html`<p>No collaborations yet: create one, or join one with a code.</p>`)}
    <//>
    <div class="columns"><${CreateForm} /><${JoinForm} /></div>
  </div>`;
}
