// The unit (承办单位): its inbox sorted by time left in working days (overdue red, due soon amber),
// the co-unit tasks it was asked to help with, and its own figures for the month.

import { ApiError, all, get, maybe } from '../api.js';
import { h, replace } from '../dom.js';
import { byTimeLeft, count, periodStarts, percent } from '../format.js';
import { CO_UNIT_STATUS, label } from '../labels.js';
import { catalog, empty, errorBox, fill, loading, page, ticketCard, unitName, units } from '../ui.js';

// What the unit still has to do as lead unit (the API's status filter, one status at a time).
const TODO = ['dispatched', 'accepted', 'reviewed', 'return_requested'];

// The inbox: tickets the unit leads that are not replied yet, least time left first, each with its
// working days left (sla's clock through GET /v1/tickets/{key}, which adds working_days_left).
export async function inbox(unitId) {
  const lists = await Promise.all(TODO.map((status) => all('/v1/tickets', { status, limit: 200 }, 1000)));
  const seen = new Set();
  const mine = [];
  const co = [];
  for (const t of lists.flat()) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (t.lead_unit && t.lead_unit.id === unitId) mine.push(t);
    else if ((t.co_units || []).some((c) => c.unit_id === unitId)) co.push(t);
  }
  // working days left for each (a handful of small reads; the list does not carry them)
  await Promise.all(mine.map(async (t) => {
    if (!t.deadline || t.deadline.state !== 'running') return;
    try {
      const clock = await get(`/v1/tickets/${encodeURIComponent(t.number)}/deadline`);
      if (typeof clock.working_days_left === 'number') t.deadline.working_days_left = clock.working_days_left;
    } catch { /* shown without the count */ }
  }));
  return { mine: byTimeLeft(mine), co };
}

async function coTasks(unitId) {
  // co-unit tasks stay open until the co-unit answered, whatever the lead unit's step
  const items = await all('/v1/tickets', { limit: 200 }, 400);
  return items.filter((t) => t.status !== 'closed'
    && (t.co_units || []).some((c) => c.unit_id === unitId && ['pending', 'accepted'].includes(c.status)));
}

function legend() {
  return h('p.legend', h('span.swatch.u-overdue'), '已超期 ', h('span.swatch.u-due-soon'), '即将到期（1个工作日内） ',
    h('span.swatch.u-ok'), '正常');
}

async function renderInbox(main, user) {
  const target = h('div', loading());
  const coTarget = h('div');
  const [cat, unitList] = await Promise.all([catalog(), units().catch(() => [])]);
  replace(main, page(`待办工单 · ${unitName(unitList, user.unit_id)}`,
    h('p.muted', '本单位主办、尚未答复的工单，按剩余办理时间（工作日）排序。'), legend(),
    h('div.inbox', { dataset: { unit: user.unit_id } }, target),
    h('h2', '协办任务'), coTarget));
  await Promise.all([
    fill(target, async () => {
      const { mine } = await inbox(user.unit_id);
      if (!mine.length) return empty('没有待办工单。');
      return h('div.cards', mine.map((t) => ticketCard(t, { cat, units: unitList })));
    }, '读取待办工单失败'),
    fill(coTarget, async () => {
      const tasks = await coTasks(user.unit_id);
      if (!tasks.length) return empty('没有协办任务。');
      return h('div.cards', tasks.map((t) => {
        const mine = t.co_units.find((c) => c.unit_id === user.unit_id);
        return ticketCard(t, { cat, units: unitList, extra: h('p.card-meta', `协办状态：${label(CO_UNIT_STATUS, mine.status)}`) });
      }));
    }, '读取协办任务失败'),
  ]);
}

function figure(name, value, note) {
  return h('div.figure', { dataset: { figure: name } }, h('div.figure-value', value), h('div.figure-name', name),
    note ? h('div.figure-note', note) : null);
}

async function renderFigures(main, user) {
  const unitList = await units().catch(() => []);
  const target = h('div', loading());
  replace(main, page(`本单位情况 · ${unitName(unitList, user.unit_id)}`, target));
  await fill(target, async () => {
    const clock = await maybe('/v1/clock').catch(() => null);
    const starts = periodStarts(clock && clock.now ? clock.now : new Date());
    const [unit, stats, open] = await Promise.all([
      get(`/v1/units/${encodeURIComponent(user.unit_id)}`),
      maybe('/v1/statistics', { group_by: 'unit', unit: user.unit_id, from: starts.month,
        measures: 'dispatched,due_met,due_late,rated,satisfied,returned' }, [400, 403, 404, 422])
        .catch(() => null),
      inbox(user.unit_id).catch(() => null),
    ]);
    const returns = unit.returns || {};
    const cards = [
      figure('待办工单', open ? count(open.mine.length) : '—'),
      figure('已超期', open ? count(open.mine.filter((t) => t.overdue).length) : '—'),
      figure('退单申请（累计）', count(returns.requested ?? 0)),
      figure('退单获准（累计）', count(returns.approved ?? 0)),
    ];
    let month;
    const row = stats && (stats.rows || []).find((r) => r.key === user.unit_id);
    if (row && row.counts) {
      const c = row.counts;
      month = h('div.figures', { dataset: { month: 'api' } },
        figure('本月交办', count(c.dispatched)),
        figure('按时办结率', (c.due_met || 0) + (c.due_late || 0) ? percent((c.due_met || 0) / ((c.due_met || 0) + (c.due_late || 0))) : '—'),
        figure('满意率', c.rated ? percent((c.satisfied || 0) / c.rated) : '—'),
        figure('本月退单', count(c.returned)));
    } else {
      month = h('div.placeholder', { dataset: { month: 'placeholder' } },
        h('strong', `${starts.label.month}本单位考核数据`),
        h('p', '按时办结率、满意率和退单率将由“12345工作简报”和统一考核功能提供；接口提供后在此显示。'));
    }
    return h('div', h('div.figures', cards), h('h2', `${starts.label.month}`), month,
      h('h2', '主要领导与专人对接'),
      h('ul.people',
        h('li', `主要领导：${unit.main_leader?.name || '—'}`),
        h('li', `分管领导：${unit.deputy_leader?.name || '—'}`),
        (unit.contacts || []).map((c) => h('li', `专人对接：${c.name}${c.phone ? `（${c.phone}）` : ''}`))));
  }, '读取本单位情况失败');
}

export async function render(main, { route, user }) {
  if (!user.unit_id) {
    replace(main, errorBox(new ApiError(403, { detail: '此页面供承办单位使用' })));
    return;
  }
  if (route.args[0] === 'figures') return renderFigures(main, user);
  return renderInbox(main, user);
}
