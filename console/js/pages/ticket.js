// The ticket page: what was asked, who handles it, the deadline, the replies, and the whole timeline;
// with the actions the signed-in role has at this step. Another unit's ticket answers 404 and the
// page says so.

import { ApiError, get, maybe, post } from '../api.js';
import { h, replace } from '../dom.js';
import { dateTime, day, isoToLocalInput, localInputToIso } from '../format.js';
import { actionButton, form } from '../forms.js';
import { mainNumber, mergeable, reasonText, similarityText, unmergeable } from '../frontdesk.js';
import {
  CHANNEL, CO_UNIT_STATUS, DISPOSITION, EMERGENCY_LINE, EXTENSION_STATUS, FIELD, LEGAL_CHANNEL, REPLY_RESULT, ROLE,
  SATISFACTION, TYPE, label, options,
} from '../labels.js';
import { can, isUnit } from '../roles.js';
import {
  badge, catalog, categoryName, errorBox, flash, loading, statusBadge, ticketLink, unitName, unitOptions, units,
  urgencyBadge,
} from '../ui.js';

const OPEN = ['dispatched', 'accepted', 'reviewed', 'return_requested'];
const VERIFY_REASON = { unsatisfied: '不满意件', key_ticket: '重点问题件', key: '重点问题件' };
// 并单 and 撤销并单 (POST .../merge, .../unmerge): the front desk's (roles.js `merge`; openapi.yaml: operator, admin)
const FRONT_DESK = 'merge';

export async function loadTicket(key) {
  return get(`/v1/tickets/${encodeURIComponent(key)}`);
}

// After a command the ticket's view follows the services' events: wait (briefly) until it changed.
export async function untilChanged(key, before, test, timeoutMs = 8000) {
  const start = Date.now();
  let view = before;
  while (Date.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, 300));
    try {
      view = await loadTicket(key);
    } catch {
      continue;
    }
    if (test ? test(view) : view.version !== before.version) return view;
  }
  return view;
}

function actorText(actor, unitList) {
  if (!actor || actor.role === 'system') return '系统';
  const parts = [label(ROLE, actor.role)];
  if (actor.unit_id) parts.push(unitName(unitList, actor.unit_id));
  if (actor.user_id) parts.push(actor.user_id);
  return parts.join(' · ');
}

function detailText(key, value) {
  if (value === null || value === undefined || value === '') return null;
  if (Array.isArray(value)) return value.join('、');
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (key === 'result') return label(REPLY_RESULT, value);
  if (key === 'satisfaction' || (key === 'reason' && SATISFACTION[value])) return label(SATISFACTION, value);
  if (key === 'channel') return label(CHANNEL, value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function timeline(entries, unitList) {
  return h('ol.timeline', (entries || []).map((e) => h('li.tl-item', { dataset: { type: e.type } },
    h('div.tl-head', h('time', { datetime: e.at }, dateTime(e.at)), h('strong.tl-label', e.label || e.type)),
    h('div.tl-actor', actorText(e.actor, unitList)),
    Object.keys(e.detail || {}).length
      ? h('dl.tl-detail', Object.entries(e.detail).map(([k, v]) => {
        const text = detailText(k, v);
        return text === null ? null : [h('dt', FIELD[k] || k), h('dd', text)];
      }))
      : null)));
}

function facts(t, cat, unitList) {
  const d = t.deadline;
  const row = (name, value) => (value === null || value === undefined || value === '' ? null
    : [h('dt', name), h('dd', value)]);
  return h('dl.facts',
    row('诉求类型', t.type_label || label(TYPE, t.type)),
    row('诉求分类', categoryName(cat, t.category)),
    row('所属区域', (cat.districts || {})[t.district] || t.district),
    row('地址', t.address),
    row('来源渠道', label(CHANNEL, t.channel)),
    row('来电人', t.citizen && t.citizen.name),
    row('联系电话', t.citizen && t.citizen.phone),
    row('登记时间', dateTime(t.created_at)),
    // the front desk (issue 12): what was done with the call at intake
    row('登记方式', t.disposition && t.disposition !== 'dispatch' ? h('span.disposition', { dataset: { disposition: t.disposition } },
      t.disposition_label || label(DISPOSITION, t.disposition)) : null),
    row('转往/引导', t.referred_to ? label(t.disposition === 'referred' ? LEGAL_CHANNEL : EMERGENCY_LINE, t.referred_to) : null),
    row('分流原因', t.disposition !== 'dispatch' ? t.disposition_reason : null),
    row('直接答复', t.answer ? `知识库：${t.answer.title || t.answer.entry_id}${t.answer.note ? `（${t.answer.note}）` : ''}` : null),
    row('并入工单', t.merged_into ? ticketLink(mainNumber(t), null, 'a.merged-into') : null),
    row('续报原工单', t.follow_up_of ? ticketLink(t.follow_up_of.number || t.follow_up_of.id) : null),
    row('并单工单', (t.merged_tickets || []).length ? t.merged_tickets.map((m, i) => [i ? '、' : null,
      ticketLink(m.number)]) : null),
    row('主办单位', t.lead_unit ? `${t.lead_unit.name || unitName(unitList, t.lead_unit.id)}${t.first_responsible ? '（第一责任主体）' : ''}`
      : (t.disposition && t.disposition !== 'dispatch' && t.disposition !== 'merged' ? '不派单（登记时已处理）' : '未交办')),
    row('协办单位', (t.co_units || []).length
      ? (t.co_units || []).map((c) => `${c.unit_name || unitName(unitList, c.unit_id)}（${label(CO_UNIT_STATUS, c.status)}）`).join('、')
      : null),
    row('办理期限', d ? `${day(d.due_date || d.due_at)}（${d.working_days}个工作日${d.extended_days ? `，已延期${d.extended_days}个工作日` : ''}）${d.provisional ? ' · 临时期限：该年度节假日安排尚未公布' : ''}` : null),
    row('延期申请', t.extension ? `${label(EXTENSION_STATUS, t.extension.status)}${t.extension.working_days ? `（${t.extension.working_days}个工作日）` : ''}` : null),
    row('答复', t.reply ? `${t.reply.reply_no || ''} ${label(REPLY_RESULT, t.reply.result)}` : null),
    row('催办次数', t.reminders_sent ? String(t.reminders_sent) : null),
    row('办理轮次', t.round && t.round > 1 ? `第${t.round}轮` : null),
    row('交办次序', t.dispatch_no && t.dispatch_no > 1 ? `第${t.dispatch_no}次交办` : null));
}

function replies(assignment) {
  const list = (assignment && assignment.replies) || [];
  if (!list.length) return null;
  return h('section.card', h('h2', '答复件'), list.map((r) => h('article.reply', { dataset: { reply: r.reply_no } },
    h('div.card-head', h('strong', r.reply_no || ''), badge(label(REPLY_RESULT, r.result)),
      h('time', dateTime(r.at))),
    h('p', r.content || ''),
    r.basis ? h('p', h('strong', '政策法规依据：'), r.basis) : null,
    r.invalid_reason ? h('p', h('strong', '无效原因：'), r.invalid_reason) : null,
    (r.contributions || []).length ? h('ul', r.contributions.map((c) => h('li', `协办意见（${c.unit_name || c.unit_id}）：${c.content}`))) : null,
    h('p.card-meta', `${r.user_id || ''}${r.contacted_citizen ? ' · 已与市民联系' : ''}`))));
}

function reviews(assignment) {
  const list = (assignment && assignment.reviews) || [];
  if (!list.length) return null;
  return h('section.card', h('h2', '领导阅批'), h('ul', list.map((r) => h('li',
    h('strong', `${r.name || r.user_id || ''}${r.title ? `（${r.title}）` : ''}：`), r.instructions || '',
    ' ', h('time.muted', dateTime(r.at))))));
}

// A 404 of a merge names the main ticket typed (the ticket itself is on the page): shown at its field.
function atInto(into) {
  return (exc) => {
    if (exc instanceof ApiError && exc.status === 404 && !Object.keys(exc.errors || {}).length) {
      exc.errors = { into: [`未找到工单 ${into}`] };
    }
    throw exc;
  };
}

// 并单 after registration: the main ticket's number, typed or taken from the suspected duplicates.
function mergePanel(path, after, candidates) {
  const mergeForm = form({
    name: 'merge', submit: '并单',
    intro: '与另一未办结工单反映同一问题的，并入该工单（主工单）：随主工单办理，不再单独交办；本工单市民仍单独回访。',
    fields: [
      { name: 'into', label: '主工单编号', required: true, placeholder: '工单编号',
        datalist: candidates.map((c) => ({ value: c.number, text: reasonText(c.reasons) })) },
      { name: 'reason', label: '并单原因', type: 'textarea', rows: 2, placeholder: '重复诉求' },
    ],
    onSubmit: (v) => post(path('merge'), v).catch(atInto(v.into)),
    onDone: (merged) => after((v) => Boolean(v.merged_into), `已并入工单 ${mainNumber(merged)}`)(),
  });
  const use = (number) => {
    const input = mergeForm.querySelector('[name="into"]');
    input.value = number;
    input.focus();
  };
  return panel('并入其他工单', mergeForm, candidates.length ? h('div.merge-candidates',
    h('p.hint', '疑似重复工单：'),
    h('ul', candidates.map((c) => h('li', { dataset: { number: c.number } },
      ticketLink(c.number), ' ',
      h('span.muted', [reasonText(c.reasons), similarityText(c.similarity)].filter(Boolean).join(' · ')), ' ',
      h('button.link', { type: 'button', dataset: { action: 'use-candidate' }, onclick: () => use(c.number) }, '作为主工单'))))) : null);
}

function panel(title, ...content) {
  return h('section.card.action-panel', { dataset: { panel: title } }, h('h2', title), ...content);
}

// The forms and buttons of the signed-in role at the ticket's step.
function actions(t, user, unitList, verification, candidates, done) {
  const key = encodeURIComponent(t.number || t.id);
  const path = (p) => `/v1/tickets/${key}/${p}`;
  const out = [];
  const mineLead = isUnit(user) && t.lead_unit && t.lead_unit.id === user.unit_id;
  const myCo = isUnit(user) ? (t.co_units || []).find((c) => c.unit_id === user.unit_id) : null;
  const unitChoices = unitOptions(unitList);
  const after = (test, text) => async () => {
    flash(text);
    await done(test);
  };

  // -- hotline office
  if (can(user, 'dispatch') && t.status === 'awaiting_dispatch') {
    out.push(panel('人工派单', form({
      name: 'dispatch', submit: '派单',
      fields: [
        { name: 'unit_id', label: '主办单位', type: 'select', options: unitChoices, required: true },
        { name: 'co_units', label: '协办单位（单位编号，逗号分隔）', type: 'list', datalist: unitChoices },
        { name: 'first_responsible', label: '第一责任主体', type: 'checkbox' },
        { name: 'note', label: '派单说明' },
      ],
      onSubmit: (v) => post(path('dispatch'), v),
      onDone: after((v) => v.status !== 'awaiting_dispatch', '已派单'),
    })));
  }
  if (can(user, FRONT_DESK) && mergeable(t)) {
    out.push(mergePanel(path, after, candidates));
  }
  if (can(user, FRONT_DESK) && unmergeable(t)) {
    out.push(panel('撤销并单', form({
      name: 'unmerge', submit: '撤销并单',
      intro: `本工单已并入工单 ${mainNumber(t)}。撤销并单后本工单单独交办，须说明撤销原因。`,
      fields: [{ name: 'reason', label: '撤销原因', type: 'textarea', rows: 2, required: true }],
      onSubmit: (v) => post(path('unmerge'), v),
      onDone: after((v) => !v.merged_into, '已撤销并单，本工单将单独交办'),
    })));
  }
  if (can(user, 'decideReturn') && t.status === 'return_requested') {
    out.push(panel('退单审核', form({
      name: 'return-decision', submit: '提交审核',
      fields: [
        { name: 'approve', label: '审核结果', type: 'boolean', required: true,
          options: [{ value: 'true', text: '同意退单（改派）' }, { value: 'false', text: '驳回，由原单位继续办理' }] },
        { name: 'redispatch_to', label: '改派单位（不选则按规则重新派单）', type: 'select', options: unitChoices,
          when: (v) => v.approve === true },
        { name: 'note', label: '审核意见' },
      ],
      onSubmit: (v) => post(path('returns/decision'), v),
      onDone: after((v) => v.status !== 'return_requested', '已审核退单'),
    })));
  }
  if (can(user, 'decideExtension') && t.extension && t.extension.status === 'pending') {
    out.push(panel('延期审核', form({
      name: 'extension-decision', submit: '提交审核',
      intro: `承办单位申请延期${t.extension.working_days || ''}个工作日。`,
      fields: [
        { name: 'approve', label: '审核结果', type: 'boolean', required: true,
          options: [{ value: 'true', text: '批准' }, { value: 'false', text: '不批准' }] },
        { name: 'working_days', label: '批准延长的工作日数', type: 'number', min: 1, when: (v) => v.approve === true,
          value: t.extension.working_days },
        { name: 'note', label: '审核意见' },
      ],
      onSubmit: (v) => post(path('extensions/decision'), v),
      onDone: after((v) => !v.extension || v.extension.status !== 'pending', '已审核延期申请'),
    })));
  }
  if (can(user, 'callback') && t.status === 'replied' && !isUnit(user)) {
    out.push(panel('回访', callbackForm(path, after)));
  }
  if (can(user, 'remind') && OPEN.includes(t.status)) {
    out.push(panel('催办', form({
      name: 'reminder', submit: '催办', intro: '向承办单位发出催办（超期工单由系统自动催办）。',
      fields: [{ name: 'note', label: '催办说明', type: 'textarea', rows: 2 }],
      onSubmit: (v) => post(path('reminders'), v),
      success: () => '已催办',
      onDone: after(null, '已催办'),
    })));
  }
  if (can(user, 'keyTicket') && !t.key_ticket && t.status !== 'closed') {
    out.push(panel('重点问题件', form({
      name: 'key-ticket', submit: '标记为重点问题件', intro: '重点问题件须现场核查。',
      fields: [{ name: 'reason', label: '理由', type: 'textarea', rows: 2, required: true }],
      onSubmit: (v) => post(path('key-ticket'), v),
      onDone: after((v) => v.key_ticket, '已标记为重点问题件'),
    })));
  }
  if (can(user, 'report') && t.lead_unit && t.status !== 'closed') {
    out.push(panel('报督办', form({
      name: 'report', submit: '报市民诉求督办中心',
      fields: [
        { name: 'trigger', label: '督办事由', type: 'select', required: true,
          options: [{ value: 'inadequate_investigation', text: '承办单位调查不力' }, { value: 'improper_handling', text: '承办单位处理不当' }] },
        { name: 'detail', label: '情况说明', type: 'textarea', rows: 3, required: true },
      ],
      onSubmit: (v) => post(path('supervision'), v),
      success: (c) => `已报督办，督办编号 ${c.case_no || ''}`,
      onDone: after(null, '已报督办'),
    })));
  }

  // -- the lead unit
  if (mineLead && can(user, 'accept') && t.status === 'dispatched') {
    out.push(panel('签收', h('p.muted', '确认收到本工单，开始办理。'),
      actionButton('签收', async () => {
        await post(path('accept'), {});
        await after((v) => v.status !== 'dispatched', '已签收')();
      }, { name: 'accept' })));
  }
  if (mineLead && can(user, 'review') && ['accepted', 'reviewed'].includes(t.status)) {
    out.push(panel('领导阅批', form({
      name: 'review', submit: '阅批',
      intro: t.status === 'reviewed' ? '本工单已阅批，可再次批示。' : '主要领导或分管领导阅批并作出批示后，经办人据此办理答复。',
      fields: [{ name: 'instructions', label: '阅批意见', type: 'textarea', rows: 3, required: true }],
      onSubmit: (v) => post(path('review'), v),
      onDone: after((v) => v.status !== 'accepted', '已阅批'),
    })));
  }
  const verificationOpen = (verification || []).find((task) => task.state !== 'filed');
  if (mineLead && can(user, 'verify') && verificationOpen) {
    out.push(panel('现场核查', form({
      name: 'verification', submit: '提交现场核查记录',
      intro: `须现场核查（${verificationOpen.reason_label || label(VERIFY_REASON, verificationOpen.reason)}）：核查人、核查时间、核查情况和责任认定。`,
      fields: [
        { name: 'inspector', label: '核查人', required: true },
        { name: 'inspected_at', label: '核查时间', type: 'datetime', required: true, value: isoToLocalInput(new Date()),
          convert: localInputToIso },
        { name: 'findings', label: '核查情况', type: 'textarea', rows: 3, required: true },
        { name: 'responsibility', label: '责任认定', type: 'textarea', rows: 2, required: true },
      ],
      onSubmit: (v) => post(path('verification'), v),
      onDone: after(null, '已提交现场核查记录'),
    })));
  }
  if (mineLead && can(user, 'reply') && t.status === 'reviewed') {
    out.push(panel('答复', form({
      name: 'reply', submit: '提交答复',
      intro: '答复应具体、真实；不能解决的，说明政策法规依据；无效或无理诉求说明原因。',
      fields: [
        { name: 'result', label: '办理结果', type: 'select', required: true, options: options(REPLY_RESULT) },
        { name: 'content', label: '答复内容', type: 'textarea', rows: 5, required: true },
        { name: 'basis', label: '政策法规依据', type: 'textarea', rows: 2, when: (v) => v.result === 'explained' },
        { name: 'invalid_reason', label: '无效/无理的原因', type: 'textarea', rows: 2, when: (v) => v.result === 'invalid' },
        { name: 'contacted_citizen', label: '已与市民联系', type: 'checkbox', value: true },
      ],
      onSubmit: (v) => post(path('reply'), v),
      onDone: after((v) => v.status === 'replied', '已提交答复'),
    })));
  }
  if (mineLead && can(user, 'requestReturn') && ['dispatched', 'accepted'].includes(t.status)) {
    out.push(panel('退单', form({
      name: 'return', submit: '申请退单',
      intro: '不属于本单位职责的，应立即退单并说明理由，由热线办重新派单。',
      fields: [{ name: 'reason', label: '退单理由', type: 'textarea', rows: 2, required: true }],
      onSubmit: (v) => post(path('returns'), v),
      onDone: after((v) => v.status === 'return_requested', '已申请退单'),
    })));
  }
  if (mineLead && can(user, 'requestExtension') && ['dispatched', 'accepted', 'reviewed'].includes(t.status)
      && !(t.extension && t.extension.status === 'pending')) {
    out.push(panel('延期申请', form({
      name: 'extension', submit: '提交延期申请',
      intro: '须由单位领导签发，说明原因，并在办理期限届满2个工作日前提出。',
      fields: [
        { name: 'working_days', label: '申请延长的工作日数', type: 'number', min: 1, required: true },
        { name: 'reason', label: '延期原因', type: 'textarea', rows: 2, required: true },
      ],
      onSubmit: (v) => post(path('extensions'), v),
      onDone: after((v) => v.extension && v.extension.status === 'pending', '已提交延期申请'),
    })));
  }
  if (mineLead && can(user, 'addCoUnit') && ['dispatched', 'accepted', 'reviewed'].includes(t.status)) {
    out.push(panel('协办单位', form({
      name: 'co-unit', submit: '增加协办单位',
      fields: [
        { name: 'unit_id', label: '协办单位', type: 'select', required: true,
          options: unitChoices.filter((o) => o.value !== user.unit_id) },
        { name: 'task', label: '协办任务', type: 'textarea', rows: 2, required: true },
      ],
      onSubmit: (v) => post(path('co-units'), v),
      onDone: after(null, '已增加协办单位'),
    })));
  }
  if (mineLead && can(user, 'callback') && t.status === 'replied') {
    out.push(panel('单位回访', callbackForm(path, after, true)));
  }

  // -- a co-unit
  if (myCo && can(user, 'coUnit')) {
    const co = (p) => path(`co-units/${encodeURIComponent(user.unit_id)}/${p}`);
    if (myCo.status === 'pending') {
      out.push(panel('协办', h('p.muted', '本单位为协办单位，应接受并配合主办单位办理。'),
        actionButton('接受协办', async () => {
          await post(co('accept'), {});
          await after(null, '已接受协办')();
        }, { name: 'co-accept' }),
        form({
          name: 'co-decline', submit: '拒绝协办', intro: '拒绝协办须说明理由（将报督办中心）。',
          fields: [{ name: 'reason', label: '拒绝理由', type: 'textarea', rows: 2, required: true }],
          onSubmit: (v) => post(co('decline'), v),
          onDone: after(null, '已拒绝协办'),
        })));
    }
    if (myCo.status === 'accepted') {
      out.push(panel('协办意见', form({
        name: 'co-contribution', submit: '提交协办意见',
        fields: [{ name: 'content', label: '协办意见', type: 'textarea', rows: 3, required: true }],
        onSubmit: (v) => post(co('contribution'), v),
        onDone: after(null, '已提交协办意见'),
      })));
    }
  }
  return out;
}

function callbackForm(path, after, own = false) {
  const yesNo = [{ value: 'true', text: '是' }, { value: 'false', text: '否' }];
  return form({
    name: own ? 'unit-callback' : 'callback', submit: '记录回访',
    intro: own ? '承办单位自行回访，记录在案，不改变工单状态。' : '满意即办结；不满意退回承办单位重办并现场核查；合理质疑报督办。',
    fields: [
      { name: 'reached', label: '是否联系上市民', type: 'boolean', required: true, options: yesNo, value: 'true' },
      { name: 'satisfaction', label: '满意度', type: 'select', options: options(SATISFACTION), when: (v) => v.reached !== false },
      { name: 'solved', label: '问题是否解决', type: 'boolean', options: yesNo, when: (v) => v.reached !== false },
      { name: 'unit_contacted', label: '承办单位是否与市民联系', type: 'boolean', options: yesNo, when: (v) => v.reached !== false },
      { name: 'challenge', label: '市民对结果提出合理质疑', type: 'checkbox', when: (v) => v.reached !== false },
      { name: 'challenge_reason', label: '质疑理由', type: 'textarea', rows: 2, when: (v) => v.challenge === true },
      { name: 'note', label: '备注', type: 'textarea', rows: 2 },
    ],
    onSubmit: (v) => {
      const body = { ...v };
      if (body.reached === false) {
        delete body.satisfaction; delete body.solved; delete body.unit_contacted; delete body.challenge;
      }
      if (!body.challenge) delete body.challenge_reason;
      return post(path('callbacks'), body);
    },
    onDone: after(null, '已记录回访'),
  });
}

export async function render(main, { route, user }) {
  const key = route.args[0];
  const body = h('div.ticket-page', loading());
  replace(main, h('section.page', h('p', h('button.link.back', { type: 'button', onclick: () => history.back() }, '← 返回')), body));
  let t;
  try {
    t = await loadTicket(key);
  } catch (exc) {
    const text = exc instanceof ApiError && exc.status === 404
      ? `未找到工单 ${key}：工单不存在，或不属于本单位承办。` : null;
    replace(body, h('h1', `工单 ${key}`), text ? h('div.error-box.not-found', { role: 'alert', dataset: { status: 404 } }, text)
      : errorBox(exc, '读取工单失败'));
    return;
  }
  await show(body, t, user);
}

async function show(body, t, user) {
  const [cat, unitList, assignment, verification, candidates] = await Promise.all([
    catalog(),
    units().catch(() => []),
    maybe(`/v1/tickets/${encodeURIComponent(t.number)}/assignment`, null, [403, 404]).catch(() => null),
    maybe(`/v1/tickets/${encodeURIComponent(t.number)}/verification`, null, [403, 404])
      .then((r) => (r && r.items) || []).catch(() => []),
    // the open tickets it may repeat, for the merge form (并单)
    can(user, FRONT_DESK) && mergeable(t)
      ? maybe(`/v1/tickets/${encodeURIComponent(t.number)}/duplicates`, null, [403, 404])
        .then((r) => ((r && r.items) || []).filter((c) => c.number !== t.number)).catch(() => [])
      : [],
  ]);
  const done = async (test) => {
    const next = await untilChanged(t.number, t, test);
    await show(body, next, user);
  };
  const acts = actions(t, user, unitList, verification, candidates, done);
  replace(body,
    h('header.ticket-head',
      h('h1', '工单 ', h('span.number', { dataset: { number: t.number } }, t.number)),
      h('div.badges', statusBadge(t), urgencyBadge(t), t.key_ticket ? badge('重点问题件', 'key') : null,
        t.supervised ? badge('督办', 'warn') : null)),
    t.merged_into ? h('p.merged-notice', { role: 'status' }, '已并入工单 ', ticketLink(mainNumber(t), null, 'a.merged-main'),
      '（主工单），随主工单办理，不单独交办。') : null,
    h('div.ticket-grid',
      h('div.ticket-content', h('section.card', h('h2', '诉求内容'), h('p.content', t.content || ''), facts(t, cat, unitList))),
      h('aside.ticket-actions', acts.length ? acts : h('p.muted.no-actions', t.status === 'closed' ? '本工单已办结。' : '当前没有需要您办理的事项。')),
      h('div.ticket-rest',
        reviews(assignment),
        replies(assignment),
        verification.length ? h('section.card', h('h2', '现场核查'), h('ul', verification.map((v) => {
          const r = v.record || {};
          return h('li', { dataset: { verification: v.state } }, `${v.reason_label || label(VERIFY_REASON, v.reason)}：`,
            v.state === 'filed' ? `已核查（${r.inspector || ''}，${dateTime(r.inspected_at)}）${r.findings || ''}；责任认定：${r.responsibility || ''}`
              : '待核查');
        }))) : null,
        h('section.card', h('h2', '办理过程'), timeline(t.timeline, unitList)))));
}
