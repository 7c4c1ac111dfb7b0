import {
  age, byTimeLeft, dateTime, day, localInputToIso, periodStarts, timeLeft, urgency,
} from '/console/js/format.js';
import { eq, test } from './run.js';

test('dateTime shows Beijing time', () => {
  eq(dateTime('2026-11-28T02:12:36.914Z'), '2026-11-28 10:12');
  eq(dateTime('2026-12-31T16:30:00Z'), '2027-01-01 00:30');
  eq(dateTime(null), '—');
});

test('day of an instant is the Beijing day; a date stays as it is', () => {
  eq(day('2026-12-25T16:00:00.000Z'), '2026-12-26');
  eq(day('2026-12-25'), '2026-12-25');
});

test('period starts are Beijing midnights', () => {
  const p = periodStarts('2026-11-30T17:00:00Z'); // 2026-12-01 01:00 in Beijing
  eq(p.today, '2026-12-01T00:00:00+08:00');
  eq(p.month, '2026-12-01T00:00:00+08:00');
  eq(p.year, '2026-01-01T00:00:00+08:00');
  eq(p.label.month, '2026年12月');
});

test('a datetime-local value is read as Beijing time', () => {
  eq(localInputToIso('2026-12-01T21:30'), '2026-12-01T21:30:00+08:00');
});

const running = (left, extra = {}) => ({ deadline: { state: 'running', working_days_left: left, due_at: `2026-12-${10 + left}T16:00:00Z` }, ...extra });

test('urgency: overdue red, due soon amber, otherwise ok; no clock none', () => {
  eq(urgency(running(-2, { overdue: true })), 'overdue');
  eq(urgency(running(1)), 'due-soon');
  eq(urgency(running(5, { due_soon: true })), 'due-soon');
  eq(urgency(running(5)), 'ok');
  eq(urgency({ deadline: { state: 'met' } }), 'none');
  eq(urgency({ deadline: null }), 'none');
});

test('time left in working days', () => {
  eq(timeLeft(running(3)), '剩余3个工作日');
  eq(timeLeft(running(0)), '今日到期');
  eq(timeLeft(running(-2, { overdue: true, overdue_working_days: 2 })), '已超期2个工作日');
  eq(timeLeft({ deadline: { state: 'met' } }), '已按时答复');
  eq(timeLeft({}), '未设定时限');
});

test('inbox order: most overdue first, then least time left, then tickets without a clock', () => {
  const tickets = [
    { n: 'a', ...running(5) },
    { n: 'b', ...running(-1, { overdue: true, overdue_working_days: 1 }) },
    { n: 'c', deadline: null },
    { n: 'd', ...running(1) },
    { n: 'e', ...running(-3, { overdue: true, overdue_working_days: 3 }) },
  ];
  eq(byTimeLeft(tickets).map((t) => t.n), ['e', 'b', 'd', 'a', 'c']);
});

test('age of a case', () => {
  eq(age({ age_days: 3, age_hours: 80 }), '3天');
  eq(age({ age_days: 0, age_hours: 5.5 }), '5小时');
  eq(age({ age_days: 0, age_hours: 0.2 }), '不足1小时');
});
