// The console's shell: sign-in state, the navigation of the signed-in role, and a hash router
// (#/page/arg?query) that renders one page module into <main>.

import { onUnauthorized } from './api.js';
import { h, replace } from './dom.js';
import { ROLE, label } from './labels.js';
import { NAV, home } from './roles.js';
import { current, signIn, signOut, tokenFromFragment } from './session.js';
import { errorBox, flash, forgetUnits, units, unitName } from './ui.js';

const PAGES = {
  signin: () => import('./pages/signin.js'),
  office: () => import('./pages/office.js'),
  queue: () => import('./pages/office.js'),
  decisions: () => import('./pages/office.js'),
  followup: () => import('./pages/office.js'),
  tickets: () => import('./pages/tickets.js'),
  ticket: () => import('./pages/ticket.js'),
  unit: () => import('./pages/unit.js'),
  supervision: () => import('./pages/supervision.js'),
  accountability: () => import('./pages/supervision.js'),
  dashboard: () => import('./pages/dashboard.js'),
  admin: () => import('./pages/admin.js'),
};

// "#/ticket/AS2026...?tab=x" -> {name: 'ticket', args: ['AS2026...'], query: {tab: 'x'}}
export function parseRoute(hash) {
  const text = String(hash || '').replace(/^#\/?/, '');
  const [path, search = ''] = text.split('?');
  const [name = '', ...args] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name, args, query: Object.fromEntries(new URLSearchParams(search)) };
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function renderChrome(user) {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const toggle = document.querySelector('.menu-toggle');
  const items = user ? NAV[user.role] || [] : [];
  const here = `#/${parseRoute(location.hash).name}`;
  replace(nav, items.map(([href, text]) => h('a', { href, class: href.split('/').slice(0, 2).join('/') === here ? 'active' : null,
    dataset: { nav: href.slice(2) } }, text)));
  toggle.hidden = !items.length;
  if (!user) {
    replace(who);
    return;
  }
  const name = h('span.who-name', { dataset: { user: user.user_id } }, user.name || user.user_id);
  const unit = h('span.who-unit');
  replace(who, h('span.who-role', label(ROLE, user.role)), user.unit_id ? unit : null, name,
    h('button.link', { type: 'button', dataset: { action: 'signout' }, onclick: () => {
      signOut();
      forgetUnits();
      navigate('#/signin');
    } }, '退出'));
  if (user.unit_id) {
    unit.textContent = user.unit_id;
    units().then((list) => { unit.textContent = unitName(list, user.unit_id); }).catch(() => {});
  }
}

let rendering = 0;

export async function render() {
  const mine = ++rendering;
  const main = document.getElementById('app');
  const route = parseRoute(location.hash);
  const user = current();
  if (!user && route.name !== 'signin') {
    location.replace('#/signin');
    return;
  }
  if (user && (!route.name || route.name === 'signin' && !route.query.switch)) {
    location.replace(home(user));
    return;
  }
  renderChrome(user);
  document.body.classList.remove('nav-open');
  const loader = PAGES[route.name];
  if (!loader) {
    replace(main, errorBox(new Error(`没有这个页面：${route.name}`)));
    return;
  }
  try {
    const module = await loader();
    if (mine !== rendering) return;
    // each render draws into its own element: a slower earlier page that is still loading writes
    // into a detached element, never over the page the user went to since
    const view = h('div.view', { dataset: { view: route.name } });
    replace(main, view);
    await module.render(view, { route, user, navigate, refresh: render });
  } catch (exc) {
    console.error(exc);
    if (mine === rendering) replace(main, errorBox(exc, '页面出错'));
  }
  if (mine === rendering) {
    main.dataset.page = route.name;
    main.focus({ preventScroll: true });
    if (!route.query.keep) window.scrollTo(0, 0);
  }
}

function start() {
  const fragmentToken = tokenFromFragment(location.hash);
  if (fragmentToken) {
    try {
      signIn(fragmentToken);
      history.replaceState(null, '', location.pathname + location.search + '#/');
    } catch (exc) {
      history.replaceState(null, '', location.pathname + location.search + '#/signin');
      flash(String(exc.message || exc), 'error');
    }
  }
  onUnauthorized(() => {
    signOut();
    forgetUnits();
    flash('登录已过期或令牌无效，请重新登录', 'error');
    navigate('#/signin');
  });
  document.querySelector('.menu-toggle').addEventListener('click', (event) => {
    const open = document.body.classList.toggle('nav-open');
    event.currentTarget.setAttribute('aria-expanded', String(open));
  });
  window.addEventListener('hashchange', render);
  render();
}

if (typeof window !== 'undefined' && document.getElementById('app')) start();
