// The hotline office (政府热线管理办公室): register a ticket from a call, the manual dispatch queue,
// return and extension decisions, callbacks, reminders and key tickets. Each list links to the ticket
// page, where the decisions are made.

import { all, get, newKey, request } from '../api.js';
import { h, replace } from '../dom.js';
import { byTimeLeft, dateTime } from '../format.js';
import { form } from '../forms.js';
import { CHANNEL, EXTENSION_STATUS, TYPE, TYPE_LIMIT, label, options } from '../labels.js';
import {
  catalog, categoryOptions, empty, fill, mapOptions, page, tabs, ticketCard, ticketLink, unitName, units,
} from '../ui.js';

function list(items, cat, unitList, emptyText, extra) {
  if (!items.length) return empty(emptyText);
  return h('div.cards', items.map((t) => ticketCard(t, { cat, units: unitList, extra: extra ? extra(t) : null })));
}

async function register(main, { navigate }) {
  const cat = await catalog();
  let key = newKey();
  const result = h('div.register-result');
  const registerForm = form({
    name: 'register',
    submit: '登记工单',
    fields: [
      { name: 'channel', label: '来源渠道', type: 'select', required: true, value: 'phone', options: options(CHANNEL) },
      { name: 'type', label: '诉求类型', type: 'select', required: true, value: 'complain',
        options: Object.entries(TYPE).map(([value, text]) => ({ value, text: `${text}（${TYPE_LIMIT[value]}个工作日）` })) },
      { name: 'category', label: '诉求分类', type: 'select', required: true, options: categoryOptions(cat) },
      { name: 'district', label: '所属区域', type: 'select', required: true, options: mapOptions(cat.districts) },
      { name: 'address', label: '地址', wide: true, placeholder: '如：铁东区胜利南路88号' },
      { name: 'citizen.name', label: '来电人姓名' },
      { name: 'citizen.phone', label: '联系电话', type: 'tel', required: true, placeholder: '手机11位或座机0412-1234567' },
      { name: 'content', label: '诉求内容', type: 'textarea', rows: 5, required: true, wide: true },
      { name: 'key_ticket', label: '重点问题件', type: 'checkbox' },
    ],
    // one Idempotency-Key per ticket: a retry after a lost answer finds the ticket instead of making two
    onSubmit: (body) => request('POST', '/v1/tickets', { body, headers: { 'Idempotency-Key': key } }).then((r) => r.data),
    success: (t) => h('span', '已登记，工单编号 ', ticketLink(t.number, t.number), '。系统将按分类派单。'),
    onDone: (t) => {
      key = newKey();
      replace(result, h('p', h('a.button', { href: `#/ticket/${encodeURIComponent(t.number)}`, dataset: { registered: t.number } },
        `查看工单 ${t.number}`)));
    },
  });
  replace(main, page('话务登记', h('p.muted', '登记来电诉求；登记后按诉求分类派往承办单位（第一责任主体），无规则匹配的进入派单队列。'),
    h('section.card', registerForm, result)));
  void navigate;
}

async function queue(main) {
  const target = h('div');
  replace(main, page('派单队列', h('p.muted', '没有派单规则匹配、需要人工派单的工单（待派单）。打开工单选择承办单位。'), target));
  const [cat, unitList] = await Promise.all([catalog(), units().catch(() => [])]);
  await fill(target, async () => {
    const items = await all('/v1/tickets', { status: 'awaiting_dispatch', limit: 200 }, 1000);
    return list(items.reverse(), cat, unitList, '派单队列为空。');
  }, '读取派单队列失败');
}

async function decisions(main) {
  const returns = h('div');
  const extensions = h('div');
  replace(main, page('退单与延期审核',
    h('section', h('h2', '退单申请'), h('p.muted', '承办单位认为不属于其职责、申请退回的工单：同意后改派，驳回则由原单位继续办理。'), returns),
    h('section', h('h2', '延期申请'), h('p.muted', '承办单位领导签发的延期申请。'), extensions)));
  const [cat, unitList] = await Promise.all([catalog(), units().catch(() => [])]);
  await Promise.all([
    fill(returns, async () => list(await all('/v1/tickets', { status: 'return_requested', limit: 200 }, 1000), cat, unitList,
      '没有待审核的退单申请。'), '读取退单申请失败'),
    fill(extensions, async () => {
      const answer = await get('/v1/extensions', { status: 'pending', limit: 200 });
      const items = answer.items || [];
      if (!items.length) return empty('没有待审核的延期申请。');
      return h('div.cards', items.map((x) => h('article.card', { dataset: { number: x.number } },
        h('div.card-head', ticketLink(x.number || x.ticket_id, x.number || x.ticket_id),
          h('span.badge', label(EXTENSION_STATUS, x.status))),
        h('p', `${unitName(unitList, x.unit_id)} 申请延长 ${x.working_days ?? x.requested_working_days ?? '?'} 个工作日：${x.reason || ''}`),
        h('p.card-meta', dateTime(x.requested_at || x.at)))));
    }, '读取延期申请失败'),
  ]);
}

async function followup(main, { route, navigate }) {
  const chosen = route.query.tab || 'callbacks';
  const target = h('div');
  const bar = tabs([
    { id: 'callbacks', title: '待回访' },
    { id: 'overdue', title: '超期催办' },
    { id: 'key', title: '重点问题件' },
  ], chosen, (id) => navigate(`#/followup?tab=${id}`));
  replace(main, page('回访与催办', bar, target));
  const [cat, unitList] = await Promise.all([catalog(), units().catch(() => [])]);
  if (chosen === 'callbacks') {
    await fill(target, async () => h('div', h('p.muted', '承办单位已答复、等待回访的工单。打开工单记录回访结果：满意即办结。'),
      list(await all('/v1/tickets', { status: 'replied', limit: 200 }, 1000), cat, unitList, '没有待回访的工单。')), '读取失败');
  } else if (chosen === 'overdue') {
    await fill(target, async () => {
      const items = byTimeLeft(await all('/v1/tickets', { overdue: true, limit: 200 }, 1000))
        .filter((t) => t.status !== 'closed' && t.status !== 'replied');
      return h('div', h('p.muted', '超过办理时限仍未答复的工单。系统自动催办两次，仍不答复的报督办中心；也可以打开工单手动催办。'),
        list(items, cat, unitList, '没有超期工单。', (t) => h('p.card-meta', `已催办 ${t.reminders_sent || 0} 次`)));
    }, '读取失败');
  } else {
    await fill(target, async () => {
      const recent = await all('/v1/tickets', { limit: 200 }, 400);
      return h('div', h('p.muted', '最近登记的工单中的重点问题件（须现场核查）。在工单页面可标记重点问题件。'),
        list(recent.filter((t) => t.key_ticket), cat, unitList, '最近没有重点问题件。'));
    }, '读取失败');
  }
}

export async function render(main, ctx) {
  const name = ctx.route.name;
  if (name === 'queue') return queue(main, ctx);
  if (name === 'decisions') return decisions(main, ctx);
  if (name === 'followup') return followup(main, ctx);
  return register(main, ctx);
}

