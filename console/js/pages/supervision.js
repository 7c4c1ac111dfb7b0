// The supervision centre (市民诉求督办中心): open cases with their trigger, unit and age; orders to
// investigate and handle again (重新调查处理); the conclusion that closes a case; and the
// accountability records (责任追究) against units.

import { all, get, newKey, post, request } from '../api.js';
import { h, replace } from '../dom.js';
import { age, dateTime } from '../format.js';
import { form } from '../forms.js';
import { ACCOUNTABILITY, CASE_STATE, TRIGGER, label, options } from '../labels.js';
import { can } from '../roles.js';
import { empty, fill, flash, page, tabs, ticketLink, unitName, unitOptions, units } from '../ui.js';

function caseCard(c, unitList, user, reload) {
  const body = h('div.case-body');
  const card = h('article.card.case-card', { dataset: { case: c.id, caseNo: c.case_no, state: c.state, number: c.number || '' } },
    h('div.card-head',
      h('strong.case-no', c.case_no),
      h('span.badge', { class: `case-${c.state}` }, label(CASE_STATE, c.state)),
      h('span.muted', `已${age(c)}`)),
    h('p', h('strong', '督办事由：'), c.trigger_label || label(TRIGGER, c.trigger)),
    c.detail ? h('p.muted', c.detail) : null,
    h('p.card-meta', '承办单位：', unitName(unitList, c.unit_id), ' · 工单：', c.number ? ticketLink(c.number, c.number) : '—',
      ' · 立案：', dateTime(c.opened_at)),
    (c.orders || []).length ? h('div', h('strong', '督办指令：'), h('ol', c.orders.map((o) => h('li',
      `${dateTime(o.at || o.ordered_at)} ${o.instructions || ''}${o.working_days ? `（${o.working_days}个工作日）` : ''}${o.followed ? ' · 已重新答复' : ''}`))))
      : null,
    c.conclusion ? h('p', h('strong', '督办结论：'), c.conclusion, ' ', h('span.muted', dateTime(c.closed_at))) : null,
    body);
  if (c.state !== 'closed') {
    const path = (p) => `/v1/supervision-cases/${encodeURIComponent(c.id)}/${p}`;
    const parts = [];
    if (can(user, 'reinvestigate') && c.state === 'open') {
      parts.push(form({
        name: 'reinvestigation', title: '要求重新调查处理', submit: '下达督办指令',
        fields: [
          { name: 'instructions', label: '督办指令', type: 'textarea', rows: 2, required: true },
          { name: 'working_days', label: '办理时限（工作日，默认按规定）', type: 'number', min: 1, nullIfEmpty: false },
        ],
        onSubmit: (v) => post(path('reinvestigation'), v),
        onDone: async () => { flash('已下达重新调查处理指令'); await reload(); },
      }));
    }
    if (can(user, 'closeCase')) {
      parts.push(form({
        name: 'close-case', title: '结案', submit: '办结督办案件',
        fields: [{ name: 'conclusion', label: '督办结论', type: 'textarea', rows: 3, required: true }],
        onSubmit: (v) => post(path('close'), v),
        onDone: async () => { flash('督办案件已结案'); await reload(); },
      }));
    }
    if (parts.length) {
      const details = h('details.case-actions', h('summary', '办理'), parts);
      body.append(details);
    }
  }
  return card;
}

async function cases(main, { route, user, navigate }) {
  const state = route.query.state || 'open';
  const target = h('div');
  const unitList = await units().catch(() => []);
  const bar = tabs([
    { id: 'open', title: '督办中' }, { id: 'reinvestigating', title: '重新调查处理中' }, { id: 'closed', title: '已结案' },
  ], state, (id) => navigate(`#/supervision?state=${id}`));
  replace(main, page(user.role === 'operator' ? '督办案件' : '督办中心',
    h('p.muted', '超期经两次催办仍不答复、市民合理质疑、调查不力或处理不当、第一责任主体拒不受理、协办单位不配合的工单，报督办中心督查督办。'),
    bar, target));
  const load = () => fill(target, async () => {
    const answer = await get('/v1/supervision-cases', { state, limit: 200 });
    const items = answer.items || [];
    if (!items.length) return empty(`没有${label(CASE_STATE, state)}的督办案件。`);
    return h('div.cards', items.map((c) => caseCard(c, unitList, user, load)));
  }, '读取督办案件失败');
  await load();
}

async function accountability(main, { route, user, navigate }) {
  const unitList = await units().catch(() => []);
  const list = h('div');
  const filterUnit = route.query.unit || '';
  const filter = h('select', { name: 'unit', 'aria-label': '按单位筛选' }, h('option', { value: '' }, '全部单位'),
    unitOptions(unitList).map((o) => h('option', { value: o.value }, o.text)));
  filter.value = filterUnit;
  filter.addEventListener('change', () => navigate(`#/accountability${filter.value ? `?unit=${encodeURIComponent(filter.value)}` : ''}`));
  let key = newKey();
  const recordForm = can(user, 'recordAccountability') ? form({
    name: 'accountability', title: '记录责任追究', submit: '记录',
    fields: [
      { name: 'kind', label: '类别', type: 'select', required: true, options: options(ACCOUNTABILITY) },
      { name: 'unit_id', label: '责任单位', type: 'select', required: true, options: unitOptions(unitList) },
      { name: 'person', label: '责任人' },
      { name: 'number', label: '工单编号' },
      { name: 'note', label: '情况说明', type: 'textarea', rows: 3, required: true },
    ],
    onSubmit: (body) => request('POST', '/v1/accountability', { body, headers: { 'Idempotency-Key': key } }).then((r) => r.data),
    onDone: async () => { key = newKey(); flash('已记录责任追究'); await load(); },
    reset: true,
  }) : null;
  replace(main, page('责任追究',
    h('p.muted', '推诿扯皮、催办后置之不理、工作不力造成严重后果、不接受不配合协办的，记录在案。'),
    recordForm ? h('details.card', h('summary', '新增记录'), recordForm) : null,
    h('p', filter), list));
  const load = () => fill(list, async () => {
    const items = await all('/v1/accountability', { unit: filterUnit || undefined, limit: 200 }, 1000);
    if (!items.length) return empty('没有责任追究记录。');
    return h('div.table-wrap', h('table.records',
      h('thead', h('tr', ['时间', '单位', '类别', '责任人', '工单', '情况'].map((x) => h('th', x)))),
      h('tbody', items.map((r) => h('tr', { dataset: { record: r.id } },
        h('td', dateTime(r.recorded_at)), h('td', unitName(unitList, r.unit_id)),
        h('td', r.kind_label || label(ACCOUNTABILITY, r.kind), r.automatic ? h('span.muted', '（自动）') : null),
        h('td', r.person || '—'), h('td', r.number ? ticketLink(r.number, r.number) : '—'), h('td', r.note || ''))))));
  }, '读取责任追究记录失败');
  await load();
}

export async function render(main, ctx) {
  if (ctx.route.name === 'accountability') return accountability(main, ctx);
  return cases(main, ctx);
}
