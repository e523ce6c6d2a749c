// Small shared pieces of UI: avatars, rating stars, labelled fields, status pills.
import { h } from './dom.js';

export function avatar(name: string, photoUrl: string | null, large = false) {
  const initials = name
    .replace(/^Dr\.?\s+/i, '')
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => w[0] ?? '')
    .join('')
    .toUpperCase();
  return h(
    'div',
    { class: `avatar${large ? ' large' : ''}`, 'aria-hidden': 'true' },
    photoUrl ? h('img', { src: photoUrl, alt: '' }) : initials,
  );
}

export function stars(rating: number | null, count: number) {
  if (rating === null || count === 0) return h('span', { class: 'muted' }, 'No reviews yet');
  return h(
    'span',
    { class: 'stars', 'aria-label': `Rated ${rating.toFixed(1)} of 5 from ${count} reviews` },
    `★ ${rating.toFixed(1)}`,
    h('span', { class: 'muted' }, ` (${count})`),
  );
}

export function field(
  name: string,
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement = h('input', { name }),
) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  control.id = id;
  if (!control.name) control.name = name;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

export function select(name: string, options: [string, string][], value = '') {
  const el = h(
    'select',
    { name },
    options.map(([v, label]) => h('option', { value: v }, label)),
  );
  el.value = value;
  return el;
}

export function pill(status: string, label: string) {
  return h('span', { class: `pill ${status}` }, label);
}

/** A muted line of facts separated by dots; empty items are left out. */
export function meta(...items: (Node | string | null | undefined | false)[]) {
  return h(
    'div',
    { class: 'row muted meta' },
    items
      .filter((i): i is Node | string => Boolean(i))
      .map((i) => (typeof i === 'string' ? h('span', {}, i) : i)),
  );
}

/** Five radio choices under a legend; option ids are `${idPrefix}-1` … `${idPrefix}-5`. */
export function ratingChoice(name: string, legend: string, idPrefix: string, unit = 'star') {
  return h(
    'fieldset',
    { class: 'rating', 'aria-labelledby': idPrefix },
    h('legend', { id: idPrefix }, legend),
    [1, 2, 3, 4, 5].map((n) => {
      const id = `${idPrefix}-${n}`;
      return h(
        'span',
        { class: 'rating-option' },
        h('input', { type: 'radio', name, value: n, id, required: true }),
        h('label', { for: id }, `${n} ${n === 1 ? unit : `${unit}s`}`),
      );
    }),
  );
}
