// The leaders' dashboard: today's and this month's figures from the classification statistics
// (GET /v1/statistics, R2), the month's breakdown by type, district and unit and its daily trend as
// SVG charts; and, when the API offers them, hot spots, the bulletins (HTML in the page, PDF to
// download) and the assessment ranking. Sections the API does not offer (404) are left out.

import { ApiError, download, get, maybe, request } from '../api.js';
import { h, replace } from '../dom.js';
import { barChart, columnChart } from '../charts.js';
import { count, dateTime, periodStarts } from '../format.js';
import { empty, errorBox, loading, page } from '../ui.js';

function stat(query) {
  return get('/v1/statistics', query);
}

function rows(answer) {
  return ((answer && answer.rows) || []).map((r) => ({ label: Array.isArray(r.label) ? r.label.join(' / ') : r.label,
    key: r.key, value: r.count }));
}

function figure(name, value, note) {
  return h('div.figure', { dataset: { figure: name } }, h('div.figure-value', value), h('div.figure-name', name),
    note ? h('div.figure-note', note) : null);
}

function chartCard(title, chart) {
  return h('section.card.chart-card', { dataset: { chart: title } }, h('h2', title), chart);
}

async function countOf(path, query) {
  const answer = await maybe(path, query);
  if (!answer) return null;
  const n = (answer.items || []).length;
  return answer.next_cursor ? `${n}+` : count(n);
}

async function bulletins(target) {
  const answer = await maybe('/v1/bulletins', { limit: 12 }, [403, 404, 405]);
  if (!answer) { target.remove(); return; }
  const viewer = h('div.bulletin-viewer');
  const items = answer.items || [];
  replace(target, h('h2', '12345工作简报'),
    items.length ? h('ul.bulletins', items.map((b) => h('li', { dataset: { bulletin: b.id } },
      h('strong', b.title || `${b.kind === 'weekly' ? '周报' : '月报'} ${b.period?.key || b.period || ''}`), ' ',
      h('span.muted', dateTime(b.published_at || b.created_at)), ' ',
      h('button.link', { type: 'button', onclick: async () => {
        replace(viewer, loading());
        try {
          const response = await request('GET', `/v1/bulletins/${encodeURIComponent(b.id)}`,
            { query: { format: 'html' }, raw: true, headers: { Accept: 'text/html' } });
          const html = await response.text();
          replace(viewer, h('iframe', { title: '简报', sandbox: '', srcdoc: html, class: 'bulletin-frame' }));
        } catch (exc) {
          replace(viewer, errorBox(exc, '读取简报失败'));
        }
      } }, '查看'), ' ',
      h('button.link', { type: 'button', onclick: () => download(`/v1/bulletins/${encodeURIComponent(b.id)}`,
        { format: 'pdf' }, `12345工作简报-${b.id}.pdf`).catch((exc) => replace(viewer, errorBox(exc, '下载失败'))) }, '下载PDF'))))
      : empty('还没有发布的简报。'),
    viewer);
}

async function ranking(target, starts) {
  const answer = await maybe('/v1/assessment', { period: starts.monthKey }, [400, 403, 404, 405, 422]);
  if (!answer) { target.remove(); return; }
  const list = answer.ranking || answer.items || answer.units || [];
  replace(target, h('h2', `统一考核排名 ${answer.period?.label || starts.label.month}`),
    list.length ? h('div.table-wrap', h('table.records',
      h('thead', h('tr', ['名次', '承办单位', '得分'].map((x) => h('th', x)))),
      h('tbody', list.map((r, i) => h('tr', { class: r.praised ? 'top' : r.criticised ? 'bottom' : null },
        h('td', String(r.rank ?? i + 1)), h('td', r.unit_name || r.name || r.unit_id),
        h('td', typeof r.score === 'number' ? r.score.toFixed(1) : (r.total ?? '—')))))))
      : empty('本期暂无考核结果。'));
}

async function hotspots(target) {
  const answer = await maybe('/v1/hotspots', {}, [400, 403, 404, 405, 422]);
  if (!answer) { target.remove(); return; }
  const rises = answer.rises || [];
  replace(target, h('h2', '热点、难点问题'),
    rises.length ? barChart(rises.slice(0, 10).map((r) => ({
      label: [r.category_label, r.district_label].filter(Boolean).join(' · ') || r.category, value: r.count })),
    { title: '热点问题' }) : empty('本期没有明显上升的热点问题。'));
}

export async function render(main) {
  const body = h('div', loading());
  replace(main, page('领导看板', body));
  let clock = null;
  try {
    clock = await get('/v1/clock');
  } catch { /* the browser's time instead */ }
  const now = clock && clock.now ? clock.now : new Date().toISOString();
  const starts = periodStarts(now);
  starts.monthKey = starts.month.slice(0, 7);
  try {
    const [today, month, byDistrict, byUnit, byDay] = await Promise.all([
      stat({ group_by: 'type', from: starts.today }),
      stat({ group_by: 'type', from: starts.month }),
      stat({ group_by: 'district', from: starts.month }),
      stat({ group_by: 'unit', from: starts.month }),
      stat({ group_by: 'day', from: starts.month }),
    ]);
    const [overdue, waiting, cases] = await Promise.all([
      countOf('/v1/tickets', { overdue: true, limit: 200 }),
      countOf('/v1/tickets', { status: 'awaiting_dispatch', limit: 200 }),
      countOf('/v1/supervision-cases', { state: 'open', limit: 500 }),
    ]);
    const hot = h('section.card.hotspots');
    const bulls = h('section.card.bulletins-card');
    const rank = h('section.card.ranking');
    replace(body,
      h('p.muted', `数据截至 ${dateTime(now)}（北京时间）`),
      h('div.figures',
        figure(`今日受理（${starts.label.today}）`, count(today.total)),
        figure(`本月受理（${starts.label.month}）`, count(month.total)),
        figure('超期未答复', overdue ?? '—'),
        figure('待人工派单', waiting ?? '—'),
        figure('督办中案件', cases ?? '—')),
      h('div.charts',
        chartCard('本月按诉求类型', barChart(rows(month), { title: '本月按诉求类型' })),
        chartCard('本月按区域', barChart(rows(byDistrict), { title: '本月按区域', barColor: '#1f6feb' })),
        chartCard('本月按承办单位（前12）', barChart(rows(byUnit), { title: '本月按承办单位', barColor: '#8250df' })),
        chartCard('本月每日受理', columnChart(rows(byDay).sort((a, b) => String(a.key).localeCompare(String(b.key))),
          { title: '本月每日受理' }))),
      hot, bulls, rank);
    await Promise.all([hotspots(hot).catch(() => hot.remove()), bulletins(bulls).catch(() => bulls.remove()),
      ranking(rank, starts).catch(() => rank.remove())]);
  } catch (exc) {
    replace(body, errorBox(exc, exc instanceof ApiError && exc.status === 403 ? '领导看板' : '读取统计失败'));
  }
}
