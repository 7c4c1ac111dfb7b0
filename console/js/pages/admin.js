// Administration: the units directory (主要领导, 分管领导, 专人对接), the routing rules (第一责任主体 by
// category), the work calendar's years (with the provisional-deadline warning when next year's
// holiday arrangement is missing), and, outside production, the shared clock.

import { del, get, maybe, post, put } from '../api.js';
import { h, replace } from '../dom.js';
import { dateTime, periodStarts } from '../format.js';
import { actionButton, form } from '../forms.js';
import { UNIT_KIND, label, options } from '../labels.js';
import {
  catalog, categoryName, categoryOptions, empty, errorBox, fill, flash, loading, mapOptions, page, tabs, unitName,
  unitOptions, units,
} from '../ui.js';

function person(prefix, p, title) {
  return [
    { name: `${prefix}.user_id`, label: `${title}账号`, value: p?.user_id, required: true },
    { name: `${prefix}.name`, label: `${title}姓名`, value: p?.name, required: true },
    { name: `${prefix}.title`, label: `${title}职务`, value: p?.title },
    { name: `${prefix}.phone`, label: `${title}电话`, type: 'tel', value: p?.phone },
  ];
}

function unitForm(unit, done) {
  const contacts = [...(unit?.contacts || []), {}, {}].slice(0, Math.max(2, (unit?.contacts || []).length + 1));
  return form({
    name: 'unit', submit: unit ? '保存单位' : '新增单位',
    fields: [
      unit ? null : { name: 'id', label: '单位编号', required: true, placeholder: 'city.example' },
      { name: 'name', label: '单位名称', value: unit?.name, required: true },
      { name: 'kind', label: '类别', type: 'select', options: options(UNIT_KIND), value: unit?.kind, required: true },
      { name: 'active', label: '启用', type: 'checkbox', value: unit ? unit.active !== false : true },
      ...person('main_leader', unit?.main_leader, '主要领导'),
      ...person('deputy_leader', unit?.deputy_leader, '分管领导'),
      ...contacts.flatMap((c, i) => person(`contacts.${i}`, c, `专人对接${i + 1}`).map((f) => ({ ...f, required: i === 0 && f.required }))),
    ].filter(Boolean),
    onSubmit: ({ id, ...body }) => {
      const unitId = unit ? unit.id : id;
      return put(`/v1/units/${encodeURIComponent(unitId ?? '')}`, body);
    },
    onDone: async (saved) => { flash(`已保存 ${saved.name || ''}`); await done(); },
  });
}

async function unitsTab(target) {
  const load = async () => {
    const list = await units(true);
    const editor = h('div.editor');
    replace(target,
      h('div.actions', h('button', { type: 'button', onclick: () => replace(editor, h('section.card', h('h3', '新增承办单位'),
        unitForm(null, load))) }, '新增承办单位')),
      editor,
      h('div.table-wrap', h('table.records',
        h('thead', h('tr', ['编号', '名称', '类别', '主要领导', '分管领导', '专人对接', ''].map((x) => h('th', x)))),
        h('tbody', list.map((u) => h('tr', { dataset: { unit: u.id }, class: u.active === false ? 'inactive' : null },
          h('td', u.id), h('td', u.name), h('td', label(UNIT_KIND, u.kind)), h('td', u.main_leader?.name || '—'),
          h('td', u.deputy_leader?.name || '—'), h('td', (u.contacts || []).map((c) => c.name).join('、')),
          h('td', h('button.link', { type: 'button', onclick: () => {
            replace(editor, h('section.card', h('h3', `修改：${u.name}`), unitForm(u, load)));
            editor.scrollIntoView({ behavior: 'smooth' });
          } }, '修改'))))))));
  };
  await fill(target, async () => { await load(); return target.firstChild ? [...target.childNodes] : empty(''); }, '读取承办单位失败');
}

function ruleForm(rule, cat, unitList, done) {
  return form({
    name: 'rule', submit: rule ? '保存规则' : '新增规则',
    intro: '规则只影响此后的派单，不改变已交办的工单。',
    fields: [
      rule ? null : { name: 'id', label: '规则编号', required: true, placeholder: 'r6-example' },
      { name: 'category', label: '诉求分类', type: 'select', options: categoryOptions(cat), value: rule?.category, required: true },
      { name: 'district', label: '区域（不选则全市）', type: 'select', options: mapOptions(cat.districts), value: rule?.district ?? '',
        nullIfEmpty: true },
      { name: 'lead_unit', label: '主办单位', type: 'select', options: unitOptions(unitList), value: rule?.lead_unit, required: true },
      { name: 'co_units', label: '协办单位（单位编号，逗号分隔）', type: 'list', value: (rule?.co_units || []).join(',') },
      { name: 'first_responsible', label: '第一责任主体', type: 'checkbox', value: rule ? rule.first_responsible : true },
    ].filter(Boolean),
    onSubmit: ({ id, ...body }) => {
      const ruleId = rule ? rule.id : id;
      return put(`/v1/routing-rules/${encodeURIComponent(ruleId ?? '')}`, body);
    },
    onDone: async () => { flash('已保存派单规则'); await done(); },
  });
}

async function rulesTab(target) {
  const [cat, unitList] = await Promise.all([catalog(), units().catch(() => [])]);
  const load = async () => {
    const list = (await get('/v1/routing-rules')).items || [];
    const editor = h('div.editor');
    replace(target,
      h('div.actions', h('button', { type: 'button', onclick: () => replace(editor, h('section.card', h('h3', '新增派单规则'),
        ruleForm(null, cat, unitList, load))) }, '新增派单规则')),
      editor,
      h('div.table-wrap', h('table.records',
        h('thead', h('tr', ['编号', '诉求分类', '区域', '主办单位', '协办单位', '第一责任主体', ''].map((x) => h('th', x)))),
        h('tbody', list.map((r) => h('tr', { dataset: { rule: r.id } },
          h('td', r.id), h('td', categoryName(cat, r.category)), h('td', r.district ? (cat.districts[r.district] || r.district) : '全市'),
          h('td', unitName(unitList, r.lead_unit)), h('td', (r.co_units || []).map((u) => unitName(unitList, u)).join('、') || '—'),
          h('td', r.first_responsible ? '是' : '否'),
          h('td',
            h('button.link', { type: 'button', onclick: () => {
              replace(editor, h('section.card', h('h3', `修改规则 ${r.id}`), ruleForm(r, cat, unitList, load)));
              editor.scrollIntoView({ behavior: 'smooth' });
            } }, '修改'), ' ',
            actionButton('删除', async () => { await del(`/v1/routing-rules/${encodeURIComponent(r.id)}`); flash('已删除规则'); await load(); },
              { cls: 'link', confirm: `删除派单规则 ${r.id}？` }))))))));
  };
  await fill(target, async () => { await load(); return [...target.childNodes]; }, '读取派单规则失败');
}

function days(text) {
  return String(text || '').split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const [date, ...name] = line.split(/\s+/);
    return name.length ? { date, name: name.join(' ') } : { date };
  });
}

async function calendarTab(target, now) {
  const year = periodStarts(now).month.slice(0, 4) * 1;
  const years = [year, year + 1];
  const load = async () => {
    const answers = await Promise.all(years.map((y) => get(`/v1/calendar/${y}`).catch((exc) => ({ year: y, error: exc }))));
    const next = answers[1];
    const warning = next && !next.error && !next.official
      ? h('div.warning', { role: 'alert', dataset: { warning: 'provisional' } },
        h('strong', `${next.year}年法定节假日安排尚未载入。`),
        `跨入${next.year}年的办理时限目前只按周末计算，并标记为“临时期限”（provisional），节假日公布后可能相差一天或更多。`,
        '请在国务院办公厅公布当年部分节假日安排的通知后，在下方载入（或放入 config/calendar/ 后重新载入），系统将重新计算所有临时期限。')
      : null;
    const uploadForm = form({
      name: 'calendar', title: '载入年度节假日安排', submit: '保存',
      fields: [
        { name: 'year', label: '年份', type: 'number', value: next?.official ? year : year + 1, required: true },
        { name: 'source', label: '来源（通知文号）', required: true, placeholder: '国办发明电〔20xx〕x号' },
        { name: 'holidays', label: '放假日期（每行：日期 名称）', type: 'textarea', rows: 4, placeholder: '2027-01-01 元旦' },
        { name: 'workdays', label: '调休上班日期（每行：日期 名称）', type: 'textarea', rows: 2, placeholder: '2027-02-07 春节' },
      ],
      onSubmit: ({ year: y, holidays, workdays, source }) => put(`/v1/calendar/${y}`,
        { year: y, source, holidays: days(holidays), workdays: days(workdays) }),
      onDone: async (answer) => { flash(`已保存${answer.year || ''}年节假日安排`); await load(); },
    });
    replace(target, warning,
      h('div.cards', answers.map((a) => h('article.card', { dataset: { year: a.year, official: a.error ? '' : String(Boolean(a.official)) } },
        h('h3', `${a.year}年`),
        a.error ? errorBox(a.error) : [
          h('p', a.official ? h('span.badge.badge-ok', '官方安排已载入') : h('span.badge.badge-warn', '未载入：临时按周末计算')),
          h('p.muted', `来源：${a.source || '—'}；计算方式：${a.counting || '—'}`),
          (a.days || []).length ? h('details', h('summary', `节假日与调休（${a.days.length}天）`),
            h('ul.days', a.days.map((d) => h('li', `${d.date} ${d.name || ''} ${d.off ? '放假' : '上班'}`)))) : null,
        ]))),
      h('section.card', uploadForm),
      h('div.actions', actionButton('重新载入 config/calendar/', async () => {
        await post('/v1/calendar/reload', {});
        flash('已重新载入节假日配置');
        await load();
      }, { cls: 'secondary', name: 'calendar-reload' })));
  };
  await fill(target, async () => { await load(); return [...target.childNodes]; }, '读取工作日历失败');
}

async function clockTab(target) {
  const load = async () => {
    const clock = await get('/v1/clock');
    const controllable = clock.mode === 'controllable';
    replace(target,
      h('p', `系统时间：${dateTime(clock.now)}（北京时间）；模式：${controllable ? '可调（非生产环境）' : '系统时钟'}`),
      controllable ? h('section.card', form({
        name: 'clock-advance', title: '推进系统时间（测试与演示）', submit: '推进',
        fields: [
          { name: 'working_days', label: '工作日数', type: 'number', min: 1 },
          { name: 'seconds', label: '秒数', type: 'number', min: 1 },
        ],
        onSubmit: (body) => post('/v1/clock/advance', body),
        onDone: async (c) => { flash(`系统时间已推进到 ${dateTime(c.now)}`); await load(); },
      })) : h('p.muted', '生产环境使用系统时钟，不能调整。'));
  };
  await fill(target, async () => { await load(); return [...target.childNodes]; }, '读取系统时间失败');
}

export async function render(main, { route, navigate }) {
  const chosen = route.args[0] || 'units';
  const target = h('div', loading());
  const bar = tabs([
    { id: 'units', title: '承办单位' }, { id: 'rules', title: '派单规则' }, { id: 'calendar', title: '工作日历' },
    { id: 'clock', title: '系统时间' },
  ], chosen, (id) => navigate(`#/admin/${id}`));
  replace(main, page('系统管理', bar, target));
  const clock = await maybe('/v1/clock').catch(() => null);
  const now = clock && clock.now ? clock.now : new Date();
  try {
    if (chosen === 'rules') await rulesTab(target);
    else if (chosen === 'calendar') await calendarTab(target, now);
    else if (chosen === 'clock') await clockTab(target);
    else await unitsTab(target);
  } catch (exc) {
    replace(target, errorBox(exc));
  }
}
