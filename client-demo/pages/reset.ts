// Forgotten password (one script, two URLs): /forgot asks for a link by e-mail or a code by SMS; /reset takes
// the link's token (?token=…) or, without one, the phone number and code, and a new password.
import { ApiError, api } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formValues, h, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';

const token = new URLSearchParams(location.search).get('token');
const asking = location.pathname === '/forgot';

const message = h('div', { role: 'alert', 'aria-live': 'assertive' });

function field(name: string, label: string, attrs: Record<string, string | boolean> = {}) {
  const id = `f-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, ...attrs }));
}

function fieldsOf(err: unknown): string[] {
  const details = err instanceof ApiError ? err.details : undefined;
  return (Array.isArray(details) ? details : [])
    .map(
      (d) =>
        String((d as { field?: unknown }).field ?? '')
          .split('.')
          .pop() ?? '',
    )
    .filter(Boolean);
}

/** Plain sentences for what the reset routes refuse; anything else as every page says it. */
function sentence(err: unknown): string {
  const fields = fieldsOf(err);
  if (fields.includes('token') || fields.includes('code'))
    return 'This link or code is not valid, was already used or has expired. Ask for a new one.';
  if (fields.includes('newPassword'))
    return 'Choose another password: it is too common, too easy to guess, or your e-mail address.';
  if (fields.includes('phone')) return 'Enter a valid mobile number.';
  return errorText(err);
}

function notice(text: string, kind: 'ok' | 'error') {
  render(message, h('p', { class: `notice ${kind === 'ok' ? 'ok' : 'error'}` }, text));
}

async function send(form: HTMLFormElement, path: string, body: Record<string, string>, onDone: () => void) {
  const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
  button.disabled = true;
  render(message);
  try {
    await api.post<unknown>(path, body, { auth: false });
    onDone();
  } catch (err) {
    notice(sentence(err), 'error');
  } finally {
    button.disabled = false;
  }
}

function requestForm() {
  const byEmail = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        const form = e.target as HTMLFormElement;
        void send(form, '/auth/password-reset', { email: formValues(form).email }, () =>
          notice(
            'If an account has this e-mail address, a link to reset its password is on its way. It works for 30 minutes.',
            'ok',
          ),
        );
      },
    },
    field('email', 'E-mail', { type: 'email', autocomplete: 'username', required: true }),
    h('button', { type: 'submit', style: 'width:100%' }, 'E-mail me a link'),
  );
  const bySms = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        const form = e.target as HTMLFormElement;
        const phone = formValues(form).phone;
        void send(form, '/auth/password-reset', { phone }, () =>
          location.assign(`/reset?phone=${encodeURIComponent(phone)}`),
        );
      },
    },
    field('phone', 'Mobile number', { type: 'tel', autocomplete: 'tel', required: true }),
    h('button', { type: 'submit', class: 'secondary', style: 'width:100%' }, 'Text me a code'),
  );
  return h(
    'section',
    { class: 'card auth-card' },
    h('h1', {}, 'Forgot your password?'),
    h('p', { class: 'hint' }, 'We can e-mail you a link, or text a 6-digit code to your mobile.'),
    byEmail,
    h('p', { class: 'hint' }, 'Or by SMS:'),
    bySms,
    message,
    h('p', { class: 'hint' }, h('a', { href: '/signin' }, 'Back to sign in')),
  );
}

function passwordField() {
  return field('newPassword', 'New password (8 characters or more)', {
    type: 'password',
    autocomplete: 'new-password',
    minlength: '8',
    required: true,
  });
}

function resetForm() {
  const phone = new URLSearchParams(location.search).get('phone') ?? '';
  const form = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        const target = e.target as HTMLFormElement;
        const values = formValues(target);
        const body: Record<string, string> = token
          ? { token, newPassword: values.newPassword }
          : { phone: values.phone, code: values.code, newPassword: values.newPassword };
        void send(target, '/auth/password-reset/confirm', body, () => {
          render(
            target,
            h('p', { class: 'notice ok' }, 'Your password is changed and you are signed out everywhere.'),
            h('a', { href: '/signin', class: 'button' }, 'Sign in'),
          );
        });
      },
    },
    ...(token
      ? []
      : [
          field('phone', 'Mobile number', { type: 'tel', autocomplete: 'tel', required: true, value: phone }),
          field('code', '6-digit code from the SMS', {
            inputmode: 'numeric',
            autocomplete: 'one-time-code',
            pattern: '[0-9]{6}',
            maxlength: '6',
            required: true,
          }),
        ]),
    passwordField(),
    h('button', { type: 'submit', style: 'width:100%' }, 'Set new password'),
  );
  return h(
    'section',
    { class: 'card auth-card' },
    h('h1', {}, 'Choose a new password'),
    token ? null : h('p', { class: 'hint' }, 'Enter the code we texted you. It works for 10 minutes.'),
    form,
    message,
    h('p', { class: 'hint' }, h('a', { href: '/forgot' }, 'Ask for a new link or code')),
  );
}

mountChrome();
render(main(), asking ? requestForm() : resetForm());
(main().querySelector('input') as HTMLInputElement | null)?.focus();
