/**
 * The page's own wording of dates and counts. Sizes and percentages come from
 * src/wire/format.ts, the CLI's own functions, so a number on the page reads
 * the same as in `tessera stats`.
 */

/** A date and time in the reader's locale, to the minute. */
export function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
