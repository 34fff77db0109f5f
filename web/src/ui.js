// Small pieces every page uses: htm bound to Preact, loading and error states, a hook that loads
// from the API, and the hash router's helpers.
import { h } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true });
  const reload = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then((data) => live && setState({ data }),
                (error) => live && setState({ error }));
    return () => { live = false; };
  }, deps);
  useEffect(reload, [reload]);
  return [state, reload];
}

export function Loading({ what }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span> Loading ${what}…</p>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}</p>`;
}

export function Loaded({ state, what, children }) {
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.data) return html`<${Loading} what=${what} />`;
  return children(state.data);
}

export const navigate = (hash) => { window.location.hash = hash; };
export const link = (...parts) => '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');

export function formatTime(seconds) {
  if (!seconds) return '';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

// A button that runs an async action, disabled meanwhile, reporting its error beside it.
export function ActionButton({ label, action, kind = 'secondary', busyLabel, testid }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const click = async () => {
    setBusy(true);
    setError(null);
    try { await action(); } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return html`<span class="action">
    <button type="button" class=${kind} disabled=${busy} onClick=${click} data-testid=${testid}>
      ${busy ? busyLabel || label : label}</button>
    ${error && html`<span class="error inline" role="alert">${error.message}</span>`}
  </span>`;
}
