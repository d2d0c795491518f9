/**
 * The access token the user typed, kept in localStorage so a reload keeps it.
 * The server asks for it on writes (uploads) when started with --token, and
 * on reads too with --token-read.
 */
const KEY = 'tessera.token';
/** Where the token lives when localStorage is unavailable. */
let memory = '';

export function getToken(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    // Storage can be disabled (private modes, file://): the token then lasts as long as the page.
    return memory;
  }
}

export function setToken(value: string): void {
  memory = value.trim();
  try {
    if (memory) localStorage.setItem(KEY, memory);
    else localStorage.removeItem(KEY);
  } catch {
    /* see getToken */
  }
}

/** Headers that carry the token, when there is one. */
export function authHeaders(): Record<string, string> {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}
