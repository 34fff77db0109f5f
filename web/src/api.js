// The console's only way to the server: the public REST API (docs/api.md), as any script would
// call it. The session cookie travels by itself (HttpOnly: no script here can read it); every
// request that changes something carries the session's CSRF token in X-Parley-CSRF.

let csrfToken = null;

let onSessionEnded = () => {};

export function setCsrfToken(token) {
  csrfToken = token;
}

// The header a change carries (for requests not made by call(): uploads), or [] when signed out.
export function csrfHeader() {
  return csrfToken ? ['X-Parley-CSRF', csrfToken] : [];
}

// Called when the server says the session is gone (expired, signed out elsewhere, token
// revoked): the console goes back to its sign-in page.
export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-Parley-CSRF'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'UNAVAILABLE', 'the server cannot be reached');
  }
  const json = await response.json().catch(() => null);
  if (!response.ok) {
    const error = json && json.error ? json.error : {};
    if (response.status === 401 && csrfToken && path !== '/api/v1/session') onSessionEnded();
    throw new ApiError(response.status, error.code || 'UNKNOWN',
                       error.message || `the server answered ${response.status}`);
  }
  return json;
}

// A path under /api/v1 with each part percent-encoded: collaborationPath('campaign', 'tables').
export function collaborationPath(collaboration, ...rest) {
  return ['/api/v1/collaborations', collaboration, ...rest]
    .map((part, i) => (i === 0 ? part : encodeURIComponent(String(part))))
    .join('/');
}

export const get = (path) => call('GET', path);
export const post = (path, body = {}) => call('POST', path, body);
export const put = (path, body = {}) => call('PUT', path, body);
export const del = (path) => call('DELETE', path);
