// Ticket search with the API's filters (GET /v1/tickets: status, unit, type, category, district,
// overdue, created_from, created_to), newest first, a page at a time. A unit's people see only their
// unit's tickets (the API's rule). A ticket number opens its page directly.

import { get } from '../api.js';
import { h, replace } from '../dom.js';
import { localInputToIso } from '../format.js';
import { form } from '../forms.js';
import { STATUS, TYPE, options } from '../labels.js';
import { isUnit } from '../roles.js';
import { catalog, categoryOptions, empty, mapOptions, page, ticketCard, unitOptions, units } from '../ui.js';

const NUMBER = /^[A-Z]{1,6}\d{14}$/;

export async function render(main, { route, user, navigate }) {
  const [cat, unitList] = await Promise.all([catalog(), units().catch(() => [])]);
  const results = h('div.results');
  const more = h('div.more');
  const q = route.query;
  const fields = [
    { name: 'q', label: '工单编号', placeholder: 'AS20261128000001', value: q.q },
    { name: 'status', label: '状态', type: 'select', options: options(STATUS), empty: '全部', value: q.status },
    isUnit(user) ? null : { name: 'unit', label: '承办单位', type: 'select', options: unitOptions(unitList), empty: '全部', value: q.unit },
    { name: 'type', label: '诉求类型', type: 'select', options: options(TYPE), empty: '全部', value: q.type },
    { name: 'category', label: '诉求分类', type: 'select', options: categoryOptions(cat), empty: '全部', value: q.category },
    { name: 'district', label: '所属区域', type: 'select', options: mapOptions(cat.districts), empty: '全部', value: q.district },
    { name: 'overdue', label: '超期', type: 'select', options: [{ value: 'true', text: '已超期' }, { value: 'false', text: '未超期' }],
      empty: '全部', value: q.overdue },
    { name: 'created_from', label: '登记时间（起）', type: 'datetime', value: q.created_from, convert: localInputToIso },
    { name: 'created_to', label: '登记时间（止）', type: 'datetime', value: q.created_to, convert: localInputToIso },
  ].filter(Boolean);

  async function search(values, cursor) {
    const { q: number, ...filters } = values;
    if (number) {
      const key = String(number).trim().toUpperCase();
      if (NUMBER.test(key) || !cursor) {
        navigate(`#/ticket/${encodeURIComponent(key)}`);
        return null;
      }
    }
    const answer = await get('/v1/tickets', { ...filters, limit: 50, cursor });
    if (!cursor) replace(results);
    const items = answer.items || [];
    if (!cursor && !items.length) results.append(empty('没有符合条件的工单。'));
    results.append(...items.map((t) => ticketCard(t, { cat, units: unitList })));
    replace(more, answer.next_cursor
      ? h('button', { type: 'button', dataset: { action: 'more' }, onclick: () => search(values, answer.next_cursor) }, '加载更多') : null);
    return answer;
  }

  const searchForm = form({
    name: 'search', submit: '查询', fields,
    onSubmit: (values) => search(values, null),
  });
  searchForm.classList.add('compact');
  replace(main, page('工单查询', h('section.card', searchForm), results, more));
  await search(searchForm.values(), null).catch((exc) => searchForm.showErrors(exc));
}
