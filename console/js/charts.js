// Simple SVG charts drawn here (no library): horizontal bars for a breakdown, columns for a trend.
// The SVG scales with its container (viewBox), so it fits a phone's width.

import { s } from './dom.js';

export function scale(max, width) {
  return max > 0 ? (v) => Math.max(v > 0 ? 2 : 0, Math.round((v / max) * width)) : () => 0;
}

function truncate(text, n) {
  const str = String(text ?? '');
  return str.length > n ? `${str.slice(0, n - 1)}…` : str;
}

// rows: [{label, value}] -> <svg> of horizontal bars, largest first as given.
export function barChart(rows, { title = '', max: maxRows = 12, labelWidth = 132, width = 520, barColor = '#b3261e' } = {}) {
  const shown = rows.slice(0, maxRows);
  const rowHeight = 26;
  const top = 6;
  const height = top + shown.length * rowHeight + 6;
  const valueWidth = 56;
  const barMax = width - labelWidth - valueWidth;
  const x = scale(Math.max(0, ...shown.map((r) => r.value || 0)), barMax);
  const svg = s('svg', { viewBox: `0 0 ${width} ${Math.max(height, 40)}`, role: 'img', 'aria-label': title,
    class: 'chart bar-chart', preserveAspectRatio: 'xMinYMin meet' },
  s('title', {}, title),
  shown.map((r, i) => {
    const y = top + i * rowHeight;
    const w = x(r.value || 0);
    return s('g', { class: 'bar', 'data-label': r.label, 'data-value': r.value },
      s('text', { x: labelWidth - 8, y: y + 17, 'text-anchor': 'end', class: 'bar-label' }, truncate(r.label, 9)),
      s('rect', { x: labelWidth, y: y + 4, width: w, height: rowHeight - 8, rx: 3, fill: barColor }),
      s('text', { x: labelWidth + w + 6, y: y + 17, class: 'bar-value' }, String(r.value ?? 0)));
  }),
  shown.length ? null : s('text', { x: width / 2, y: 26, 'text-anchor': 'middle', class: 'muted' }, '暂无数据'));
  return svg;
}

// rows: [{label, value}] in order (days) -> <svg> of columns with the first, middle and last labels.
export function columnChart(rows, { title = '', width = 520, height = 160, barColor = '#1f6feb' } = {}) {
  const bottom = 22;
  const top = 14;
  const n = Math.max(rows.length, 1);
  const slot = width / n;
  const y = scale(Math.max(0, ...rows.map((r) => r.value || 0)), height - bottom - top);
  const marks = new Set([0, Math.floor((rows.length - 1) / 2), rows.length - 1]);
  return s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart column-chart',
    preserveAspectRatio: 'xMinYMin meet' },
  s('title', {}, title),
  s('line', { x1: 0, x2: width, y1: height - bottom, y2: height - bottom, class: 'axis' }),
  rows.map((r, i) => {
    const hgt = y(r.value || 0);
    const x = i * slot + slot * 0.15;
    return s('g', { class: 'column', 'data-label': r.label, 'data-value': r.value },
      s('rect', { x, y: height - bottom - hgt, width: Math.max(1, slot * 0.7), height: hgt, fill: barColor, rx: 2 },
        s('title', {}, `${r.label}：${r.value}`)),
      r.value && rows.length <= 16 ? s('text', { x: x + slot * 0.35, y: height - bottom - hgt - 3, 'text-anchor': 'middle',
        class: 'bar-value' }, String(r.value)) : null,
      marks.has(i) ? s('text', { x: x + slot * 0.35, y: height - 6, 'text-anchor': 'middle', class: 'bar-label' },
        String(r.label).slice(5)) : null);
  }),
  rows.length ? null : s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'muted' }, '暂无数据'));
}
