// Times in Beijing time, deadlines in working days, urgency colours. Pure functions (tested in
// tests/browser/js/).

export const TZ = 'Asia/Shanghai';

const stamp = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});

function parts(date) {
  const out = {};
  for (const p of stamp.formatToParts(date)) out[p.type] = p.value;
  if (out.hour === '24') out.hour = '00';
  return out;
}

// "2026-11-28 10:12" in Beijing time; '—' for nothing.
export function dateTime(value) {
  if (!value) return '—';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

// "2026-11-28" (Beijing day of an instant), or the date string as it is.
export function day(value) {
  if (!value) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day}`;
}

// The Beijing calendar day of an instant: {year, month, day} as numbers.
export function beijingDay(value) {
  const p = parts(value instanceof Date ? value : new Date(value));
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day) };
}

const pad = (n) => String(n).padStart(2, '0');

// Instants (ISO 8601 with +08:00) that start the Beijing day, month and year containing `now`.
export function periodStarts(now) {
  const { year, month, day: d } = beijingDay(now);
  return {
    today: `${year}-${pad(month)}-${pad(d)}T00:00:00+08:00`,
    month: `${year}-${pad(month)}-01T00:00:00+08:00`,
    year: `${year}-01-01T00:00:00+08:00`,
    label: { today: `${year}年${month}月${d}日`, month: `${year}年${month}月` },
  };
}

// A datetime-local input's value ("2026-12-01T21:30") read as Beijing time -> ISO with +08:00.
export function localInputToIso(value) {
  if (!value) return value;
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}+08:00`;
}

// Now in Beijing time for a datetime-local input.
export function isoToLocalInput(value) {
  const d = value instanceof Date ? value : new Date(value);
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// How a ticket stands against its deadline: 'overdue' (red), 'due-soon' (amber), 'ok', or 'none'
// (no running clock). The API's own flags win; working days left decide otherwise.
export function urgency(ticket) {
  const deadline = ticket && ticket.deadline;
  if (!deadline || (deadline.state && deadline.state !== 'running')) return 'none';
  const left = deadline.working_days_left;
  if (ticket.overdue || (typeof left === 'number' && left < 0)) return 'overdue';
  if (ticket.due_soon || (typeof left === 'number' && left <= 1)) return 'due-soon';
  return 'ok';
}

// "剩余3个工作日" / "今日到期" / "已超期2个工作日" / the deadline's state.
export function timeLeft(ticket) {
  const deadline = ticket && ticket.deadline;
  if (!deadline) return '未设定时限';
  if (deadline.state && deadline.state !== 'running') {
    return { met: '已按时答复', missed: '超期答复', stopped: '计时停止' }[deadline.state] || deadline.state;
  }
  if (ticket.overdue) {
    const n = ticket.overdue_working_days || (deadline.working_days_left < 0 ? -deadline.working_days_left : 0);
    return n > 0 ? `已超期${n}个工作日` : '已超期';
  }
  const left = deadline.working_days_left;
  if (typeof left !== 'number') return `期限 ${day(deadline.due_date || deadline.due_at)}`;
  if (left <= 0) return '今日到期';
  return `剩余${left}个工作日`;
}

// Sort key for an inbox: least time left first; overdue (most overdue first) before everything;
// tickets without a running clock last.
export function timeLeftKey(ticket) {
  const deadline = ticket && ticket.deadline;
  if (!deadline || (deadline.state && deadline.state !== 'running')) return [2, 0, ''];
  if (ticket.overdue) return [0, -(ticket.overdue_working_days || 0), deadline.due_at || ''];
  const left = typeof deadline.working_days_left === 'number' ? deadline.working_days_left : 9999;
  return [1, left, deadline.due_at || ''];
}

export function compareKeys(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

export function byTimeLeft(tickets) {
  return [...tickets].sort((x, y) => compareKeys(timeLeftKey(x), timeLeftKey(y)));
}

// "3天" / "5小时" from a case's age.
export function age(item) {
  if (typeof item.age_days === 'number' && item.age_days >= 1) return `${item.age_days}天`;
  if (typeof item.age_hours === 'number') return item.age_hours >= 1 ? `${Math.floor(item.age_hours)}小时` : '不足1小时';
  return '—';
}

export function count(n) {
  return typeof n === 'number' ? n.toLocaleString('zh-CN') : '—';
}

export function percent(x) {
  return typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '—';
}
