/**
 * If-Match and If-None-Match (RFC 9110 section 13.1) against the current
 * representation's entity tag, or undefined when there is none (the file
 * does not exist). Each returns whether the condition FAILS.
 */

/** `*`, or the entity tags of a list (`"a", W/"b"`); anything malformed matches nothing. */
function tagsOf(header: string): '*' | string[] {
  if (header.trim() === '*') return '*';
  return header.match(/(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/g) ?? [];
}

/** If-Match: strong comparison (a weak tag never matches); `*` needs a current representation. */
export function ifMatchFails(header: string | undefined, etag: string | undefined): boolean {
  if (header === undefined) return false;
  if (etag === undefined) return true;
  const tags = tagsOf(header);
  return tags !== '*' && !tags.includes(etag);
}

/** If-None-Match: weak comparison (`W/` ignored); `*` fails on any current representation. */
export function ifNoneMatchFails(header: string | undefined, etag: string | undefined): boolean {
  if (header === undefined || etag === undefined) return false;
  const tags = tagsOf(header);
  return tags === '*' || tags.some((t) => t.replace(/^W\//, '') === etag);
}
