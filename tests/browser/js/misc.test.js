import { parseRoute } from '/console/js/app.js';
import { barChart, columnChart } from '/console/js/charts.js';
import { demoUsers } from '/console/js/pages/signin.js';
import { can, home } from '/console/js/roles.js';
import { decodeClaims, expired, tokenFromFragment } from '/console/js/session.js';
import { categoryName } from '/console/js/ui.js';
import { eq, ok, test } from './run.js';

function b64url(text) {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

test('JWT claims decode (UTF-8 names) and expire', () => {
  const token = `${b64url('{"alg":"HS256"}')}.${b64url(JSON.stringify({ sub: 'a', role: 'unit_leader', name: '周海', exp: 2000000000 }))}.sig`;
  const claims = decodeClaims(token);
  eq(claims.name, '周海');
  eq(expired(claims, 1900000000), false);
  eq(expired(claims, 2000000001), true);
  eq(decodeClaims('not a token'), null);
});

test('a token in the fragment', () => {
  eq(tokenFromFragment('#access_token=abc.def.ghi&token_type=Bearer'), 'abc.def.ghi');
  eq(tokenFromFragment('#/ticket/AS1'), null);
});

test('routes parse from the hash', () => {
  eq(parseRoute('#/ticket/AS20261128000001?tab=x'), { name: 'ticket', args: ['AS20261128000001'], query: { tab: 'x' } });
  eq(parseRoute(''), { name: '', args: [], query: {} });
  eq(parseRoute('#/supervision?state=closed').query.state, 'closed');
});

test('what each role is offered mirrors openapi.yaml', () => {
  ok(can({ role: 'unit_leader' }, 'review'));
  ok(!can({ role: 'unit_handler' }, 'review'));
  ok(!can({ role: 'unit_handler' }, 'requestExtension'));
  ok(can({ role: 'operator' }, 'dispatch'));
  ok(!can({ role: 'supervisor' }, 'dispatch'));
  ok(can({ role: 'supervisor' }, 'closeCase'));
  eq(home({ role: 'unit_handler' }), '#/unit');
  eq(home({ role: 'supervisor' }), '#/supervision');
  eq(home(null), '#/signin');
});

test('demo users: city roles, and each unit\'s leaders and contacts', () => {
  const users = demoUsers([{ id: 'city.x', name: '市某局', main_leader: { user_id: 'x.l', name: '甲' },
    deputy_leader: { user_id: 'x.d', name: '乙', title: '分管领导' }, contacts: [{ user_id: 'x.c', name: '丙' }] }]);
  eq(users.map((u) => u.role), ['operator', 'supervisor', 'admin', 'unit_leader', 'unit_leader', 'unit_handler']);
  eq(users.filter((u) => u.unit_id === 'city.x').map((u) => u.user_id), ['x.l', 'x.d', 'x.c']);
  eq(users[3].title, '主要领导');
});

test('bar chart: one bar per row, widths in proportion', () => {
  const svg = barChart([{ label: '投诉', value: 10 }, { label: '咨询', value: 5 }, { label: '建议', value: 0 }], { title: 't' });
  const rects = [...svg.querySelectorAll('g.bar rect')].map((r) => Number(r.getAttribute('width')));
  eq(rects.length, 3);
  eq(rects[1] * 2, rects[0]);
  eq(rects[2], 0);
  eq(svg.querySelector('title').textContent, 't');
  ok(barChart([], {}).textContent.includes('暂无数据'));
});

test('column chart: one column per day', () => {
  const svg = columnChart([{ label: '2026-12-01', value: 1 }, { label: '2026-12-02', value: 3 }]);
  eq(svg.querySelectorAll('g.column').length, 2);
});

test('category names follow the catalogue\'s hierarchy', () => {
  const cat = { categories: { noise: '噪音污染', 'noise.neighbourhood': '社会生活噪音' } };
  eq(categoryName(cat, 'noise.neighbourhood'), '噪音污染 / 社会生活噪音');
  eq(categoryName(cat, 'unknown'), 'unknown');
});
