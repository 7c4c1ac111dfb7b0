// The signed-in user: a bearer token kept for this browser tab (sessionStorage). The token's claims
// are read only to greet the user and choose which pages to offer; the API checks the token and
// decides every permission.

const KEY = 'hotline.console.token';
let memory = null; // when storage is unavailable (private mode)

function store() {
  try { return window.sessionStorage; } catch { return null; }
}

export function decodeClaims(token) {
  const parts = String(token || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(parts[1].length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

export function expired(claims, nowSeconds = Date.now() / 1000) {
  return !claims || (typeof claims.exp === 'number' && claims.exp <= nowSeconds);
}

// `#access_token=...` (the identity provider's implicit-flow redirect, or a link handed out by an
// administrator): take the token and remove it from the address bar and history.
export function tokenFromFragment(hash) {
  const text = String(hash || '').replace(/^#/, '');
  if (!text.includes('access_token=')) return null;
  const params = new URLSearchParams(text.startsWith('/') ? text.slice(text.indexOf('?') + 1) : text);
  return params.get('access_token');
}

export function signIn(token) {
  const claims = decodeClaims(token);
  if (!claims) throw new Error('这不是有效的访问令牌（JWT）');
  if (expired(claims)) throw new Error('访问令牌已过期');
  const s = store();
  if (s) s.setItem(KEY, token); else memory = token;
  return claims;
}

export function signOut() {
  const s = store();
  if (s) s.removeItem(KEY);
  memory = null;
}

export function token() {
  const s = store();
  return (s ? s.getItem(KEY) : memory) || null;
}

// {token, role, unit_id, user_id, name, exp} or null when nobody (or an expired token) is signed in.
export function current() {
  const t = token();
  const claims = decodeClaims(t);
  if (!t || expired(claims)) return null;
  return { token: t, role: claims.role, unit_id: claims.unit_id || null, user_id: claims.sub, name: claims.name || null,
    exp: claims.exp };
}
