// The top bar every page shares: brand, the links for the signed-in role, and sign-in / sign-out.
import { currentUser, signOut } from './api.js';
import { h, render } from './dom.js';

const LINKS: Record<string, [string, string][]> = {
  guest: [['/', 'Find a doctor']],
  patient: [
    ['/', 'Find a doctor'],
    ['/me/appointments', 'My appointments'],
  ],
  doctor: [
    ['/doctor', 'Console'],
    ['/reports', 'Reports'],
    ['/', 'Directory'],
  ],
  staff: [
    ['/desk', 'Front desk'],
    ['/desk/schedule', 'Schedule'],
    ['/reports', 'Reports'],
    ['/', 'Book'],
  ],
  admin: [
    ['/admin', 'Admin'],
    ['/desk', 'Front desk'],
    ['/desk/schedule', 'Schedule'],
    ['/reports', 'Reports'],
    ['/', 'Directory'],
  ],
};

export function mountChrome(): void {
  const bar = document.getElementById('topbar');
  if (!bar) return;
  const user = currentUser();
  const links = LINKS[user?.role ?? 'guest'];
  const here = location.pathname;
  render(
    bar,
    h(
      'a',
      { class: 'brand', href: '/' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '+'),
      'CareQueue',
    ),
    h(
      'nav',
      { 'aria-label': 'Main' },
      links.map(([href, label]) => h('a', { href, 'aria-current': href === here ? 'page' : null }, label)),
    ),
    h(
      'div',
      { class: 'who' },
      user
        ? [
            h('span', { class: 'who-name' }, user.name),
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: async () => {
                  await signOut();
                  location.assign('/signin');
                },
              },
              'Sign out',
            ),
          ]
        : [
            h('a', { href: '/signin' }, 'Sign in'),
            h('a', { href: '/register', class: 'button small' }, 'Register'),
          ],
    ),
  );
}
