// A plain data table for the pages' lists: a header row, then one row per item.
import { h } from './dom.js';

type Cell = Node | string | number | null | undefined;

/** A row is either built by the page (its own classes and data) or given as its cells' contents. */
export function dataTable(
  headers: (string | Node)[],
  rows: (HTMLTableRowElement | Cell[])[],
  attrs: { class?: string } = {},
) {
  return h(
    'table',
    attrs,
    h('thead', {}, h('tr', {}, ...headers.map((label) => h('th', {}, label)))),
    h(
      'tbody',
      {},
      rows.map((row) => (Array.isArray(row) ? h('tr', {}, ...row.map((cell) => h('td', {}, cell))) : row)),
    ),
  );
}
