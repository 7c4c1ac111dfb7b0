// Sign-in. Production: a bearer token from the city's identity provider, arriving as
// #access_token=... or pasted here. Development and `make run`: the demo users of every role and
// unit (the units' main and deputy leaders and contacts, from GET /v1/units), each signed in through
// POST /console/dev-token, which exists only outside production.

import { ApiError, get, post } from '../api.js';
import { h, replace } from '../dom.js';
import { form } from '../forms.js';
import { ROLE } from '../labels.js';
import { home } from '../roles.js';
import { current, signIn } from '../session.js';
import { empty, errorBox, loading, page } from '../ui.js';

const CITY_USERS = [
  { role: 'operator', user_id: 'operator.demo', name: '话务员（演示）' },
  { role: 'supervisor', user_id: 'supervisor.demo', name: '督办中心（演示）' },
  { role: 'admin', user_id: 'admin.demo', name: '系统管理员（演示）' },
];

// Each unit's people as demo users: main leader and deputy leader (unit_leader), contacts (unit_handler).
export function demoUsers(unitList) {
  const users = CITY_USERS.map((u) => ({ ...u, unit_id: null, unit_name: null, title: ROLE[u.role] }));
  for (const unit of unitList || []) {
    const people = [
      [unit.main_leader, 'unit_leader', '主要领导'],
      [unit.deputy_leader, 'unit_leader', '分管领导'],
      ...(unit.contacts || []).map((c) => [c, 'unit_handler', '专人对接']),
    ];
    for (const [person, role, title] of people) {
      if (!person || !person.user_id) continue;
      users.push({ role, unit_id: unit.id, unit_name: unit.name, user_id: person.user_id, name: person.name || person.user_id,
        title: person.title || title });
    }
  }
  return users;
}

async function useDevToken(user, navigate) {
  const answer = await post('/console/dev-token', { role: user.role, unit_id: user.unit_id, user_id: user.user_id,
    name: user.name }, { bearer: null });
  signIn(answer.access_token);
  navigate(home(current()));
}

function userButton(user, navigate, errorSlot) {
  return h('button.user', { type: 'button', dataset: { user: user.user_id, role: user.role, unit: user.unit_id || '' },
    onclick: async () => {
      try {
        await useDevToken(user, navigate);
      } catch (exc) {
        replace(errorSlot, errorBox(exc, '登录失败'));
      }
    } },
  h('span.user-name', user.name), h('span.user-title', user.title));
}

async function devList(target, navigate) {
  replace(target, loading('正在读取演示用户…'));
  let reader;
  try {
    // a short-lived token of the least privileged role, only to read the units directory
    reader = await post('/console/dev-token', { role: 'subscriber', user_id: 'console.signin' }, { bearer: null });
  } catch (exc) {
    if (exc instanceof ApiError && (exc.status === 404 || exc.status === 405)) {
      replace(target);
      target.hidden = true; // production: no demo sign-in
      return;
    }
    replace(target, errorBox(exc, '演示登录不可用'));
    return;
  }
  let unitList = [];
  const errorSlot = h('div');
  try {
    unitList = (await get('/v1/units', null, { bearer: reader.access_token })).items || [];
  } catch (exc) {
    replace(errorSlot, errorBox(exc, '读取承办单位失败'));
  }
  const users = demoUsers(unitList);
  const filter = h('input', { type: 'search', placeholder: '按单位、姓名或角色筛选', 'aria-label': '筛选演示用户',
    name: 'filter' });
  const city = h('div.user-grid', users.filter((u) => !u.unit_id).map((u) => userButton(u, navigate, errorSlot)));
  const groups = unitList.map((unit) => h('details.unit-users', { dataset: { unit: unit.id } },
    h('summary', unit.name, h('span.muted', ` ${unit.id}`)),
    h('div.user-grid', users.filter((u) => u.unit_id === unit.id).map((u) => userButton(u, navigate, errorSlot)))));
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const group of groups) {
      const text = group.textContent.toLowerCase();
      const hit = !q || text.includes(q);
      group.hidden = !hit;
      group.open = Boolean(q) && hit;
    }
  });
  replace(target,
    h('h2', '开发环境：选择演示用户登录'),
    h('p.muted', '仅在非生产环境提供。按角色与承办单位列出演示用户；生产环境请使用统一身份认证的访问令牌。'),
    errorSlot,
    h('h3', '市级用户'), city,
    h('h3', '承办单位（主要领导、分管领导、专人对接）'), filter,
    groups.length ? h('div.unit-list', groups) : empty('没有读到承办单位'));
}

export async function render(main, { navigate }) {
  const dev = h('section.card.dev-users', { dataset: { section: 'dev' } });
  const tokenForm = form({
    name: 'token',
    title: '使用访问令牌登录',
    intro: '粘贴统一身份认证（OIDC）签发的访问令牌；也可以通过链接 …/console/#access_token=令牌 直接登录。',
    fields: [{ name: 'token', label: '访问令牌', type: 'textarea', rows: 3, required: true, placeholder: 'eyJhbGciOi…' }],
    submit: '登录',
    onSubmit: async ({ token }) => {
      try {
        signIn(String(token || '').trim().replace(/^Bearer\s+/i, ''));
      } catch (exc) {
        throw new ApiError(400, { title: '令牌无效', detail: exc.message, errors: { token: [exc.message] } });
      }
      // ask the API who this is: a token it refuses is reported here, not on the next page
      try {
        await get('/v1/clock');
      } catch (exc) {
        if (exc instanceof ApiError && exc.status === 401) {
          throw new ApiError(401, exc.problem, null);
        }
      }
      navigate(home(current()));
    },
  });
  replace(main, page('登录', h('div.signin', h('section.card', tokenForm), dev)));
  await devList(dev, navigate);
}
