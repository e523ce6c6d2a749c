// Sign in and register (one script, two URLs). Tokens go to localStorage; the page then returns to `next`.
import { api, saveSession, type User } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formValues, h, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';

interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

const registering = location.pathname === '/register';
const next = new URLSearchParams(location.search).get('next');
const HOME: Record<User['role'], string> = {
  patient: '/',
  doctor: '/doctor',
  staff: '/desk',
  admin: '/admin',
};
const DEMO = [
  ['Patient', 'patient@demo.carequeue.local'],
  ['Doctor', 'dr.rahman@demo.carequeue.local'],
  ['Front desk', 'desk@demo.carequeue.local'],
  ['Admin', 'admin@demo.carequeue.local'],
];

const message = h('div', { role: 'alert', 'aria-live': 'assertive' });

function done(tokens: Tokens) {
  saveSession({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, user: tokens.user });
  const safeNext = next?.startsWith('/') && !next.startsWith('//') ? next : null;
  location.assign(safeNext ?? HOME[tokens.user.role]);
}

function field(name: string, label: string, attrs: Record<string, string | boolean> = {}) {
  const id = `f-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, ...attrs }));
}

async function submit(event: Event) {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const values = formValues(form);
  render(message);
  const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
  button.disabled = true;
  try {
    if (registering) {
      if (values.role !== 'doctor') delete values.licenseNo;
      done(await api.post<Tokens>('/auth/register', values, { auth: false }));
    } else {
      done(
        await api.post<Tokens>(
          '/auth/login',
          { email: values.email, password: values.password },
          { auth: false },
        ),
      );
    }
  } catch (err) {
    render(
      message,
      h(
        'p',
        { class: 'notice error' },
        errorText(err, {
          UNAUTHENTICATED: 'The e-mail or password is not right.',
          CONFLICT: 'An account with this e-mail already exists. Sign in instead.',
        }),
      ),
    );
    button.disabled = false;
  }
}

function signInForm() {
  const form = h(
    'form',
    { onsubmit: submit, novalidate: false },
    field('email', 'E-mail', { type: 'email', autocomplete: 'username', required: true }),
    field('password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
    message,
    h('button', { type: 'submit', style: 'width:100%' }, 'Sign in'),
  );
  const fill = (email: string) => {
    (form.elements.namedItem('email') as HTMLInputElement).value = email;
    (form.elements.namedItem('password') as HTMLInputElement).value = 'carequeue-demo';
    form.requestSubmit();
  };
  return h(
    'section',
    { class: 'card auth-card' },
    h('h1', {}, 'Sign in'),
    form,
    h('p', { class: 'hint' }, h('a', { href: '/forgot' }, 'Forgot password?')),
    h(
      'p',
      { class: 'hint' },
      'No account yet? ',
      h('a', { href: `/register${location.search}` }, 'Create one'),
    ),
    h(
      'div',
      { class: 'demo-logins hint' },
      'Demo accounts (embedded mode): ',
      DEMO.map(([label, email]) =>
        h('button', { type: 'button', class: 'secondary small', onclick: () => fill(email) }, label),
      ),
    ),
  );
}

function registerForm() {
  const licence = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: 'f-licenseNo' }, 'Licence number'),
    h('input', { id: 'f-licenseNo', name: 'licenseNo', autocomplete: 'off' }),
    h('p', { class: 'hint' }, 'Doctors are listed once an admin has verified the licence.'),
  );
  const role = h(
    'select',
    {
      id: 'f-role',
      name: 'role',
      onchange: (e: Event) => {
        licence.hidden = (e.target as HTMLSelectElement).value !== 'doctor';
      },
    },
    h('option', { value: 'patient' }, 'Patient'),
    h('option', { value: 'doctor' }, 'Doctor'),
  );
  return h(
    'section',
    { class: 'card auth-card' },
    h('h1', {}, 'Create an account'),
    h(
      'form',
      { onsubmit: submit },
      field('name', 'Full name', { autocomplete: 'name', required: true }),
      field('email', 'E-mail', { type: 'email', autocomplete: 'email', required: true }),
      field('phone', 'Mobile phone (for SMS updates)', { type: 'tel', autocomplete: 'tel' }),
      field('password', 'Password (8 characters or more)', {
        type: 'password',
        autocomplete: 'new-password',
        minlength: '8',
        required: true,
      }),
      h('div', { class: 'field' }, h('label', { for: 'f-role' }, 'I am a'), role),
      licence,
      message,
      h('button', { type: 'submit', style: 'width:100%' }, 'Create account'),
    ),
    h(
      'p',
      { class: 'hint' },
      'Already registered? ',
      h('a', { href: `/signin${location.search}` }, 'Sign in'),
    ),
  );
}

mountChrome();
render(main(), registering ? registerForm() : signInForm());
(main().querySelector('input') as HTMLInputElement | null)?.focus();
