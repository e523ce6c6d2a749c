// Feedback page (/feedback/:token), opened from the feedback message without signing in: two ratings, a
// comment and "would you recommend", sent once. The hospital reads it; it is not the public review.
import { ApiError, api } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formatDate, h, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { field, ratingChoice } from '../lib/widgets.js';

interface LinkDetails {
  doctorName: string;
  hospitalName: string;
  visitDate: string;
  used: boolean;
}

const token = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const view = h('div', { class: 'stack', 'data-testid': 'feedback' });
const path = `/feedback-links/${encodeURIComponent(token)}`;

const thanks = (text: string) => h('p', { class: 'notice ok', 'data-testid': 'feedback-done' }, text);

function form(details: LinkDetails) {
  const message = h('div', { role: 'alert' });
  const el = h(
    'form',
    {
      class: 'card stack',
      'data-testid': 'feedback-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const data = new FormData(el);
        const rating = Number(data.get('rating'));
        const waitRating = Number(data.get('waitRating'));
        if (!rating || !waitRating) {
          render(message, h('p', { class: 'notice error' }, 'Choose from 1 to 5 for both questions.'));
          return;
        }
        const comment = String(data.get('comment') ?? '').trim();
        const recommend = data.get('wouldRecommend');
        try {
          await api.post(
            path,
            {
              rating,
              waitRating,
              ...(comment ? { comment } : {}),
              ...(recommend ? { wouldRecommend: recommend === 'yes' } : {}),
            },
            { auth: false },
          );
          render(view, thanks('Thank you! Your feedback went to the hospital.'));
        } catch (err) {
          if (err instanceof ApiError && err.code === 'CONFLICT')
            render(view, thanks('Feedback for this visit was already given. Thank you!'));
          else render(message, h('p', { class: 'notice error' }, errorText(err)));
        }
      },
    },
    h('h1', {}, 'How was your visit?'),
    h(
      'p',
      { class: 'muted' },
      `${details.doctorName} at ${details.hospitalName}, ${formatDate(details.visitDate)}. Only the hospital sees this.`,
    ),
    ratingChoice('rating', 'The visit overall', 'fb-visit'),
    ratingChoice('waitRating', 'The wait (5: hardly any)', 'fb-wait'),
    h(
      'fieldset',
      { class: 'rating', 'aria-labelledby': 'fb-recommend' },
      h('legend', { id: 'fb-recommend' }, 'Would you recommend this doctor? (optional)'),
      ['yes', 'no'].map((v) =>
        h(
          'span',
          { class: 'rating-option' },
          h('input', { type: 'radio', name: 'wouldRecommend', value: v, id: `fb-recommend-${v}` }),
          h('label', { for: `fb-recommend-${v}` }, v === 'yes' ? 'Yes' : 'No'),
        ),
      ),
    ),
    field('comment', 'Anything to add? (optional)', h('textarea', { maxlength: '2000', rows: '3' })),
    message,
    h('button', { type: 'submit' }, 'Send feedback'),
  );
  return el;
}

async function load() {
  try {
    const details = await api.get<LinkDetails>(path, { auth: false });
    render(
      view,
      details.used ? thanks('Feedback for this visit was already given. Thank you!') : form(details),
    );
  } catch (err) {
    render(
      view,
      h(
        'p',
        { class: 'notice error', 'data-testid': 'feedback-invalid' },
        err instanceof ApiError && err.status === 404
          ? 'This feedback link is not valid or has expired (links work for 30 days after the visit).'
          : errorText(err),
      ),
    );
  }
}

mountChrome();
render(main(), view);
void load();
