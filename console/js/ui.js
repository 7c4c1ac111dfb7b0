// Pieces every page uses: page titles, loading and error boxes, status badges, ticket cards, the
// units directory (names by id), flash messages.

import { ApiError, get } from './api.js';
import { h, replace } from './dom.js';
import { dateTime, timeLeft, urgency } from './format.js';
import { STATUS, TYPE, label } from './labels.js';

export function page(title, ...children) {
  return h('section.page', h('h1', title), ...children);
}

export function loading(text = '正在加载…') {
  return h('p.muted.loading', text);
}

export function errorBox(exc, what = '') {
  const text = exc instanceof ApiError ? exc.summary : String(exc && exc.message || exc);
  return h('div.error-box', { role: 'alert', dataset: { status: exc instanceof ApiError ? exc.status : '' } },
    what ? h('strong', what, '：') : null, text);
}

export function empty(text) {
  return h('p.empty', text);
}

// Run `load` and put its result (or the error) into `target`, showing "loading" meanwhile.
export async function fill(target, load, what) {
  replace(target, loading());
  try {
    const content = await load();
    replace(target, content);
  } catch (exc) {
    if (!(exc instanceof ApiError)) console.error(exc);
    replace(target, errorBox(exc, what));
  }
}

export function badge(text, kind = '') {
  return h('span.badge', { class: kind ? `badge-${kind}` : null }, text);
}

export function statusBadge(ticket) {
  return h('span.badge.status', { dataset: { status: ticket.status } },
    ticket.status_label || label(STATUS, ticket.status));
}

export function urgencyBadge(ticket) {
  const kind = urgency(ticket);
  if (kind === 'none') return null;
  return h('span.badge.time-left', { class: `u-${kind}` }, timeLeft(ticket));
}

// A link to a ticket's page; `tag` may carry a class ('a.merged-into').
export function ticketLink(key, text, tag = 'a') {
  return h(tag, { href: `#/ticket/${encodeURIComponent(key)}`, dataset: { number: key } }, text || key);
}

// One ticket as a card (lists, inboxes): number, status, type, category, unit, time left.
export function ticketCard(ticket, { units, cat, extra } = {}) {
  const kind = urgency(ticket);
  const lead = ticket.lead_unit ? (ticket.lead_unit.name || unitName(units, ticket.lead_unit.id)) : '未交办';
  return h('article.card.ticket-card', { class: `u-${kind}`, dataset: { number: ticket.number, status: ticket.status } },
    h('div.card-head',
      ticketLink(ticket.number, ticket.number),
      statusBadge(ticket),
      ticket.key_ticket ? badge('重点件', 'key') : null,
      ticket.supervised ? badge('督办', 'warn') : null,
      urgencyBadge(ticket)),
    h('p.card-body', ticket.content || ''),
    h('p.card-meta',
      h('span', ticket.type_label || label(TYPE, ticket.type)), ' · ',
      h('span', categoryName(cat, ticket.category)), ' · ',
      h('span', ((cat && cat.districts) || {})[ticket.district] || ticket.district || ''), ' · ',
      h('span', lead), ' · ',
      h('time', { datetime: ticket.created_at }, dateTime(ticket.created_at))),
    extra || null);
}

// -- the units directory, read once per sign-in ------------------------------------------------------

let directory = null;

export async function units(refresh = false) {
  if (!directory || refresh) {
    directory = get('/v1/units').then((r) => r.items || []).catch((exc) => { directory = null; throw exc; });
  }
  return directory;
}

export function forgetUnits() {
  directory = null;
}

export function unitName(list, id) {
  if (!id) return '—';
  const found = (list || []).find((u) => u.id === id);
  return found ? found.name : id;
}

export function unitOptions(list) {
  return (list || []).filter((u) => u.active !== false).map((u) => ({ value: u.id, text: `${u.name}（${u.id}）` }));
}

// -- flash messages -----------------------------------------------------------------------------------

export function flash(text, kind = 'ok') {
  const box = document.getElementById('flash');
  if (!box) return;
  const item = h('div.flash', { class: `flash-${kind}` }, text);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

// Tabs: [{id, title, render(target)}]; the chosen one is kept in the hash's query (?tab=).
export function tabs(list, chosen, onChoose) {
  const bar = h('div.tabs', { role: 'tablist' },
    list.map((t) => h('button', { type: 'button', role: 'tab', 'aria-selected': String(t.id === chosen),
      class: t.id === chosen ? 'active' : null, dataset: { tab: t.id }, onclick: () => onChoose(t.id) }, t.title)));
  return bar;
}

// -- reference data (config/catalog.yaml as the gateway serves it at /console/catalog.json) -----------

let catalogPromise = null;

export function catalog() {
  if (!catalogPromise) {
    catalogPromise = fetch(new URL('catalog.json', document.baseURI), { cache: 'no-cache' })
      .then((r) => (r.ok ? r.json() : { categories: {}, districts: {}, channels: {} }))
      .catch(() => ({ categories: {}, districts: {}, channels: {} }));
  }
  return catalogPromise;
}

// "噪音污染 / 社会生活噪音" for noise.neighbourhood
export function categoryName(cat, code) {
  if (!code) return '—';
  const names = (cat && cat.categories) || {};
  const pathParts = code.split('.');
  const chain = pathParts.map((_, i) => names[pathParts.slice(0, i + 1).join('.')]).filter(Boolean);
  return chain.length ? chain.join(' / ') : code;
}

export function categoryOptions(cat) {
  return Object.entries((cat && cat.categories) || {}).map(([value, text]) => ({
    value, text: value.includes('.') ? `　${text}` : text,
  }));
}

export function mapOptions(map) {
  return Object.entries(map || {}).map(([value, text]) => ({ value, text }));
}
