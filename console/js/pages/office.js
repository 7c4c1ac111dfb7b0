// The hotline office (政府热线管理办公室): register a ticket from a call (with the front desk: knowledge
// base, duplicate suggestions, sorting at intake), the manual dispatch queue,
// return and extension decisions, callbacks, reminders and key tickets. Each list links to the ticket
// page, where the decisions are made.

import { all, get, newKey, request } from '../api.js';
import { h, replace } from '../dom.js';
import { byTimeLeft, dateTime } from '../format.js';
import { form } from '../forms.js';
import {
  SORTED, debounce, duplicateQuery, knowledgeQuery, outcomeText, reasonText, referralOptions, registrationBody,
  similarityText,
} from '../frontdesk.js';
import {
  CHANNEL, DISPOSITION, EXTENSION_STATUS, KNOWLEDGE_FLAG, STATUS, TYPE, TYPE_LIMIT, label, options,
} from '../labels.js';
import {
  catalog, categoryName, categoryOptions, empty, errorBox, fill, mapOptions, page, tabs, ticketCard, ticketLink, unitName,
  units,
} from '../ui.js';

function list(items, cat, unitList, emptyText, extra) {
  if (!items.length) return empty(emptyText);
  return h('div.cards', items.map((t) => ticketCard(t, { cat, units: unitList, extra: extra ? extra(t) : null })));
}

// -- 话务登记 with the front desk (issue 12) ----------------------------------------------------------
// Beside the form: the knowledge base (知识库: 直接答复 from an entry) and the open tickets the call
// may repeat (疑似重复工单: 并入此工单, 登记为续报), both asked of the API while the operator types.

const SEARCH_DELAY = 600;
const DUPLICATES_DELAY = 700;

function flagBadges(entry) {
  const flags = entry.flags || {};
  return [
    ...Object.keys(KNOWLEDGE_FLAG).filter((k) => flags[k]).map((k) => h('span.badge.badge-warn', { dataset: { flag: k } },
      KNOWLEDGE_FLAG[k])),
    entry.example ? h('span.badge', { dataset: { flag: 'example' } }, '示例数据') : null,
  ];
}

function knowledgeEntry(entry, unitList, onAnswer) {
  return h('article.card.kb-entry', { dataset: { entry: entry.id } },
    h('div.card-head', h('strong.kb-title', entry.title || entry.id), flagBadges(entry)),
    h('p.kb-answer', entry.answer || ''),
    h('p.card-meta',
      h('span', `主管单位：${unitName(unitList, entry.unit_id)}`), ' · ',
      h('span', `有效期：${entry.valid_from || '—'} 至 ${entry.valid_until || '长期'}`), ' · ',
      h('span', `复核日期：${entry.review_date || '—'}`),
      entry.uses ? [' · ', h('span', `已引用 ${entry.uses} 次`)] : null),
    entry.source ? h('p.card-meta', `依据：${entry.source}`) : null,
    h('div.actions', h('button.primary', { type: 'button', dataset: { action: 'direct-answer', entry: entry.id },
      title: '按此条目答复市民，登记为直接答复（即时办结），不派单', onclick: () => onAnswer(entry) }, '直接答复')));
}

function duplicateCandidate(c, cat, onMerge, onFollowUp) {
  return h('article.card.dup-candidate', { dataset: { number: c.number, id: c.id, status: c.status } },
    h('div.card-head', ticketLink(c.number, c.number),
      h('span.badge.status', { dataset: { status: c.status } }, label(STATUS, c.status)),
      c.similarity !== undefined ? h('span.badge', similarityText(c.similarity)) : null),
    h('p.dup-reasons', { dataset: { reasons: (c.reasons || []).join(' ') } }, `疑似原因：${reasonText(c.reasons)}`),
    h('p.card-body', c.content || ''),
    h('p.card-meta',
      h('span', categoryName(cat, c.category)), ' · ',
      h('span', ((cat && cat.districts) || {})[c.district] || c.district || ''),
      c.address ? [' · ', h('span', c.address)] : null, ' · ',
      h('span', c.lead_unit ? c.lead_unit.name || c.lead_unit.id : '未交办'), ' · ',
      h('time', { datetime: c.created_at }, `登记于 ${dateTime(c.created_at)}`)),
    h('div.actions',
      h('button.primary', { type: 'button', dataset: { action: 'merge', number: c.number },
        title: '本次来电与此工单为同一诉求：登记为并单，随此工单办理', onclick: () => onMerge(c) }, '并入此工单'),
      h('button', { type: 'button', dataset: { action: 'follow-up', number: c.number },
        title: '本次来电是对此工单的续报：登记新工单并关联原工单', onclick: () => onFollowUp(c) }, '登记为续报')));
}

async function register(main, { navigate }) {
  const cat = await catalog();
  const unitList = await units().catch(() => []);
  let key = newKey();
  let justRegistered = null;
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
      { name: 'disposition', label: '登记方式（分流）', type: 'select', required: true, value: 'dispatch',
        options: options(DISPOSITION), hint: '派单之外：直接答复、并单可在右侧知识库与疑似重复工单中直接办理' },
      { name: 'referred_to', label: '转往/引导途径', type: 'select', required: true, options: [],
        when: (v) => v.disposition === 'transferred' || v.disposition === 'referred' },
      { name: 'reason', label: '原因', type: 'textarea', rows: 2, wide: true,
        hint: '转紧急热线、引导法定途径、非受理范围、恶意骚扰须写明原因（至少4个字）；并单可不填（默认“重复诉求”）',
        when: (v) => SORTED.includes(v.disposition) || v.disposition === 'merged' },
      { name: 'knowledge_entry_id', label: '知识库条目', hint: '在知识库中点“直接答复”自动填入',
        when: (v) => v.disposition === 'direct_answer' },
      { name: 'answer_note', label: '答复补充说明', type: 'textarea', rows: 2, wide: true,
        when: (v) => v.disposition === 'direct_answer' },
      { name: 'merge_into', label: '并入工单', placeholder: '主工单编号', hint: '在疑似重复工单中点“并入此工单”自动填入',
        when: (v) => v.disposition === 'merged' },
      { name: 'follow_up_of', label: '续报原工单', placeholder: '工单编号（市民续报时填写）' },
      { name: 'key_ticket', label: '重点问题件', type: 'checkbox', when: (v) => v.disposition === 'dispatch' },
    ],
    // one Idempotency-Key per ticket: a retry after a lost answer finds the ticket instead of making two
    onSubmit: (values) => request('POST', '/v1/tickets', { body: registrationBody(values), headers: { 'Idempotency-Key': key } })
      .then((r) => r.data),
    success: (t) => h('span', '已登记，工单编号 ', ticketLink(t.number, t.number), '。',
      h('span.outcome', { dataset: { disposition: t.disposition || 'dispatch' } }, outcomeText(t))),
    onDone: (t) => {
      key = newKey();
      replace(result, h('p', h('a.button', { href: `#/ticket/${encodeURIComponent(t.number)}`,
        dataset: { registered: t.number, disposition: t.disposition || 'dispatch' } }, `查看工单 ${t.number}`)));
      // the front desk's choice is made per call: back to 派单 for the next one
      for (const [name, value] of [['disposition', 'dispatch'], ['referred_to', ''], ['reason', ''],
        ['knowledge_entry_id', ''], ['answer_note', ''], ['merge_into', ''], ['follow_up_of', '']]) {
        setField(name, value, false);
      }
      changed();
      justRegistered = t.number; // the call just registered is not its own duplicate
      lookupDuplicates(true);
    },
  });

  const input = (name) => registerForm.querySelector(`[name="${name}"]`);
  function changed() {
    registerForm.dispatchEvent(new Event('change', { bubbles: true }));
  }
  function setField(name, value, notify = true) {
    const el = input(name);
    if (el) el.value = value;
    if (notify) changed();
  }
  // the referral choices follow the disposition (emergency lines or legal channels)
  let shownReferrals = null;
  function refreshReferrals() {
    const disposition = input('disposition').value;
    if (disposition === shownReferrals) return;
    shownReferrals = disposition;
    replace(input('referred_to'), h('option', { value: '' }, '请选择'),
      referralOptions(disposition).map((o) => h('option', { value: o.value }, o.text)));
  }
  registerForm.addEventListener('change', refreshReferrals);
  refreshReferrals();

  function registerAs(fields) {
    if (registerForm.querySelector('button[type="submit"]').disabled) return; // one registration at a time
    for (const [name, value] of Object.entries(fields)) setField(name, value, false);
    changed();
    registerForm.requestSubmit();
  }

  // -- 知识库
  const kbStatus = h('p.muted.kb-status', '输入诉求内容后自动检索，也可输入关键词搜索。');
  const kbList = h('div.kb-list');
  let kbSeq = 0;
  let manual = false;
  async function search(q, { explicit = false } = {}) {
    const mine = ++kbSeq;
    if (explicit) manual = Boolean(q);
    replace(kbStatus, explicit ? `正在检索“${q}”…` : '正在按诉求内容检索…');
    try {
      const answer = await get('/v1/knowledge', { q });
      if (mine !== kbSeq) return answer;
      const items = answer.items || [];
      replace(kbStatus, `${explicit ? '关键词' : '按诉求内容'}检索${(answer.terms || []).length ? `（${answer.terms.join('、')}）` : ''}：`
        + `${items.length ? `${items.length} 条` : '没有匹配的有效条目'}`);
      replace(kbList, items.map((e) => knowledgeEntry(e, unitList, (entry) => registerAs(
        { disposition: 'direct_answer', knowledge_entry_id: entry.id }))));
      return answer;
    } catch (exc) {
      if (mine === kbSeq) replace(kbStatus);
      if (explicit) throw exc;  // the search form shows the API's problem at its field
      if (mine === kbSeq) replace(kbList, errorBox(exc, '检索知识库失败'));
      return null;
    }
  }
  const searchForm = form({
    name: 'knowledge',
    submit: '搜索',
    fields: [{ name: 'q', label: '检索知识库', type: 'search', placeholder: '关键词，如：社保卡挂失' }],
    onSubmit: (v) => search(v.q || '', { explicit: true }),
  });
  const autoSearch = debounce(() => {
    const q = knowledgeQuery(input('content').value);
    if (q && !manual) search(q);
  }, SEARCH_DELAY);
  input('content').addEventListener('input', autoSearch);
  searchForm.querySelector('[name="q"]').addEventListener('input', (event) => {
    if (!event.target.value.trim()) manual = false;
  });

  // -- 疑似重复工单
  const dupStatus = h('p.muted.dup-status', '填写诉求内容、联系电话或分类与区域后，显示可能重复的未办结工单。');
  const dupList = h('div.dup-list');
  let dupSeq = 0;
  let lastQuery = null;
  async function lookupDuplicates(force = false) {
    const query = duplicateQuery(registerForm.values());
    const text = JSON.stringify(query);
    if (!force && text === lastQuery) return;
    lastQuery = text;
    const mine = ++dupSeq;
    if (!query) {
      replace(dupStatus, '填写诉求内容、联系电话或分类与区域后，显示可能重复的未办结工单。');
      replace(dupList);
      return;
    }
    replace(dupStatus, '正在查找疑似重复工单…');
    try {
      const answer = await get('/v1/duplicates', query);
      if (mine !== dupSeq) return;
      const items = (answer.items || []).filter((c) => c.number !== justRegistered);
      replace(dupStatus, items.length ? `近期未办结工单中有 ${items.length} 件可能是同一诉求：` : '没有疑似重复工单。');
      replace(dupList, items.map((c) => duplicateCandidate(c, cat,
        (x) => registerAs({ disposition: 'merged', merge_into: x.number }),
        (x) => registerAs({ disposition: 'dispatch', follow_up_of: x.number }))));
    } catch (exc) {
      if (mine !== dupSeq) return;
      replace(dupStatus);
      replace(dupList, errorBox(exc, '查找疑似重复工单失败'));
    }
  }
  const duplicatesSoon = debounce(() => lookupDuplicates(), DUPLICATES_DELAY);
  const watched = ['content', 'address', 'category', 'district', 'citizen.phone'];
  for (const name of watched) {
    input(name).addEventListener('input', () => {
      justRegistered = null; // the operator is on the next call
      duplicatesSoon();
    });
    input(name).addEventListener('change', duplicatesSoon);
  }

  replace(main, page('话务登记', h('p.muted', '登记来电诉求；登记后按诉求分类派往承办单位（第一责任主体），无规则匹配的进入派单队列。'
    + '能按知识库答复的直接答复，与未办结工单同一诉求的并单，紧急、法定途径、非受理范围和恶意骚扰的来电在登记时分流。'),
  h('div.frontdesk',
    h('section.card.frontdesk-form', registerForm, result),
    h('aside.frontdesk-side',
      h('section.card.knowledge', { dataset: { panel: 'knowledge' } }, h('h2', '知识库'), searchForm, kbStatus, kbList),
      h('section.card.duplicates', { dataset: { panel: 'duplicates' } }, h('h2', '疑似重复工单'), dupStatus, dupList)))));
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

