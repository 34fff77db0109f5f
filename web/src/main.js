// The console's shell: sign-in, the header and the hash router (#/c/NAME/tables, ...). Every page
// reads and writes through the public API (api.js) with the session the server keeps in an
// HttpOnly cookie.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, setCsrfToken, whenSessionEnds } from './api.js';
import { html, ErrorBox, Loading } from './ui.js';
import { CollaborationsPage } from './pages/collaborations.js';
import { CollaborationPage } from './pages/collaboration.js';

// Only a hint that a session may exist (the organisation's name, never a secret), so that the
// sign-in page does not ask the server first; shared by the origin's tabs.
const HINT = 'parley.signed_in_as';

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await call('POST', '/api/v1/session', { token: token.trim() });
      setToken('');
      onSignedIn(session);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="main">
    <h1>Parley console</h1>
    <p>Sign in with your organisation's API token. The console keeps it on the server; your
      browser holds only a session cookie.</p>
    <form onSubmit=${submit}>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required
        value=${token} onInput=${(e) => setToken(e.target.value)} placeholder="pt_…" />
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
    </form>
    <${ErrorBox} error=${error} />
  </main>`;
}

function parseHash() {
  const parts = window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean)
    .map(decodeURIComponent);
  return parts;
}

function App() {
  const [session, setSession] = useState(undefined);
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    whenSessionEnds(() => {
      localStorage.removeItem(HINT);
      setCsrfToken(null);
      setSession(null);
    });
    window.addEventListener('hashchange', onHash);
    if (localStorage.getItem(HINT)) {
      call('GET', '/api/v1/session').then(accept, () => {
        localStorage.removeItem(HINT);
        setSession(null);
      });
    } else {
      setSession(null);
    }
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  function accept(s) {
    setCsrfToken(s.csrf_token);
    localStorage.setItem(HINT, s.organisation);
    setSession(s);
  }
  async function signOut() {
    try { await call('DELETE', '/api/v1/session'); } catch (e) { /* the session is gone anyway */ }
    localStorage.removeItem(HINT);
    setCsrfToken(null);
    setSession(null);
    window.location.hash = '#/';
  }
  if (session === undefined) return html`<main id="main"><${Loading} what="your session" /></main>`;
  if (session === null) return html`<${SignIn} onSignedIn=${accept} />`;
  let page;
  if (route[0] === 'c' && route[1]) {
    page = html`<${CollaborationPage} key=${route[1]} name=${route[1]} view=${route.slice(2)}
      me=${session.organisation} />`;
  } else {
    page = html`<${CollaborationsPage} me=${session.organisation} />`;
  }
  return html`
    <header class="top">
      <a class="brand" href="#/">Parley</a>
      <nav aria-label="account">
        <span class="who" data-testid="who">signed in as <strong>${session.organisation}</strong></span>
        <button type="button" class="link" onClick=${signOut}>Sign out</button>
      </nav>
    </header>
    <main id="main">${page}</main>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
