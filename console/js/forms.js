// Forms that send what the person typed to the API and show the API's problem+json answer: each
// message of `errors` next to the field it names (dotted names for nested fields: citizen.phone),
// messages for fields the form does not show, and the problem's detail, at the top of the form.
// The browser's own validation is off (novalidate): the API is the one that checks.

import { ApiError } from './api.js';
import { h, replace } from './dom.js';
import { FIELD } from './labels.js';

let seq = 0;

// marshmallow's usual English messages in Chinese; anything else is shown as the API wrote it.
const MESSAGES = {
  'Missing data for required field.': '必填',
  'Unknown field.': '不认识的字段',
  'Field may not be null.': '不能为空',
  'Not a valid string.': '应为文字',
  'Not a valid integer.': '应为整数',
  'Not a valid boolean.': '应为是或否',
  'Not a valid datetime.': '应为日期时间',
  'Not a valid date.': '应为日期',
  'Not a valid list.': '应为列表',
  'Shorter than minimum length 1.': '不能为空',
};

export function translate(message) {
  const text = String(message);
  if (MESSAGES[text]) return MESSAGES[text];
  let m = /^Length must be between (\d+) and (\d+)\.$/.exec(text);
  if (m) return `长度应在${m[1]}到${m[2]}个字之间`;
  m = /^Must be one of: (.*)\.$/.exec(text);
  if (m) return `应为以下之一：${m[1]}`;
  m = /^Longer than maximum length (\d+)\.$/.exec(text);
  if (m) return `不能超过${m[1]}个字`;
  m = /^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$/.exec(text);
  if (m) return `应在${m[1]}到${m[2]}之间`;
  return text;
}

// {"citizen.phone": "138..."} -> {citizen: {phone: "138..."}}; numeric keys make arrays
// ("contacts.0.name"), compacted so that a row left empty leaves no hole.
export function nest(flat) {
  const out = {};
  for (const [path, value] of Object.entries(flat)) {
    const keys = path.split('.');
    let node = out;
    keys.slice(0, -1).forEach((k, i) => {
      if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') {
        node[k] = /^\d+$/.test(keys[i + 1]) ? [] : {};
      }
      node = node[k];
    });
    node[keys[keys.length - 1]] = value;
  }
  return compact(out);
}

function compact(value) {
  if (Array.isArray(value)) return value.filter((x) => x !== undefined).map(compact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
  }
  return value;
}

// The value a field sends, or undefined to leave it out of the body.
export function fieldValue(field, raw, checked) {
  switch (field.type) {
    case 'checkbox':
      return Boolean(checked);
    case 'number': {
      if (raw === '' || raw === null || raw === undefined) return field.nullIfEmpty ? null : undefined;
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw; // the API says what is wrong with it
    }
    case 'boolean': // a select or radio of 'true'/'false'
      if (raw === '' || raw === undefined) return field.nullIfEmpty ? null : undefined;
      return raw === 'true';
    case 'list':
      return String(raw || '').split(/[\s,，、]+/).map((x) => x.trim()).filter(Boolean);
    default: {
      if (raw === '' || raw === undefined || raw === null) return field.nullIfEmpty ? null : undefined;
      return field.convert ? field.convert(raw) : raw;
    }
  }
}

function control(field, id) {
  const common = { id, name: field.name, 'aria-describedby': `${id}-error` };
  const value = field.value ?? '';
  switch (field.type) {
    case 'textarea':
      return h('textarea', { ...common, rows: field.rows || 3, placeholder: field.placeholder, text: value });
    case 'select':
    case 'boolean': {
      const opts = field.options || [{ value: 'true', text: '是' }, { value: 'false', text: '否' }];
      const select = h('select', common,
        field.required && field.value !== undefined ? null : h('option', { value: '' }, field.empty ?? '请选择'),
        opts.map((o) => h('option', { value: o.value }, o.text)));
      select.value = String(value);
      return select;
    }
    case 'checkbox':
      return h('input', { ...common, type: 'checkbox', checked: Boolean(field.value) });
    case 'number':
      return h('input', { ...common, type: 'number', inputmode: 'numeric', min: field.min, max: field.max, step: 1, value });
    case 'datetime':
      return h('input', { ...common, type: 'datetime-local', value });
    default:
      return h('input', { ...common, type: field.type === 'tel' ? 'tel' : 'text', placeholder: field.placeholder,
        value, autocomplete: field.autocomplete || 'off', list: field.datalist ? `${id}-list` : null });
  }
}

// form({name, fields, submit, onSubmit(values) -> Promise, onDone(result, form), success(result) -> text})
export function form(spec) {
  const formId = `f${++seq}`;
  const general = h('div.form-errors', { role: 'alert', hidden: true });
  const notice = h('div.form-ok', { role: 'status', hidden: true });
  const button = h('button.primary', { type: 'submit' }, spec.submit || '提交');
  const rows = spec.fields.map((field, i) => {
    const id = `${formId}-${i}`;
    const input = control(field, id);
    const error = h('p.field-error', { id: `${id}-error`, hidden: true });
    const labelText = field.label || FIELD[field.name] || field.name;
    const wrapper = field.type === 'checkbox'
      ? h('div.field.check', { dataset: { field: field.name } }, h('label', { for: id }, input, ' ', labelText), error)
      : h('div.field', { dataset: { field: field.name }, class: field.wide ? 'wide' : null },
        h('label', { for: id }, labelText, field.required ? h('span.req', { 'aria-hidden': 'true' }, ' *') : null),
        input,
        field.datalist ? h('datalist', { id: `${id}-list` }, field.datalist.map((o) => h('option', { value: o.value }, o.text))) : null,
        field.hint ? h('p.hint', field.hint) : null,
        error);
    return { field, input, error, wrapper };
  });

  const el = h('form.form', { novalidate: true, dataset: { form: spec.name || formId } },
    spec.title ? h('h3', spec.title) : null,
    spec.intro ? h('p.muted', spec.intro) : null,
    general,
    h('div.fields', rows.map((r) => r.wrapper)),
    h('div.actions', button, spec.cancel ? h('button', { type: 'button', onclick: spec.cancel }, '取消') : null),
    notice);

  function values() {
    const flat = {};
    for (const r of rows) {
      const v = fieldValue(r.field, r.input.value, r.input.checked);
      if (v !== undefined) flat[r.field.name] = v;
    }
    return nest(flat);
  }

  function refreshVisibility() {
    const current = values();
    for (const r of rows) {
      if (r.field.when) r.wrapper.hidden = !r.field.when(current);
    }
  }

  function clearErrors() {
    general.hidden = true;
    replace(general);
    notice.hidden = true;
    for (const r of rows) {
      r.error.hidden = true;
      replace(r.error);
      r.input.removeAttribute('aria-invalid');
      r.wrapper.classList.remove('invalid');
    }
  }

  function showErrors(error) {
    const unplaced = [];
    const byField = error.errors || {};
    for (const [path, messages] of Object.entries(byField)) {
      const row = rows.find((r) => r.field.name === path && !r.wrapper.hidden)
        || rows.find((r) => path.startsWith(`${r.field.name}.`) && !r.wrapper.hidden);
      if (row) {
        row.error.hidden = false;
        row.error.append(messages.map(translate).join('；'));
        row.input.setAttribute('aria-invalid', 'true');
        row.wrapper.classList.add('invalid');
      } else {
        unplaced.push(h('li', `${FIELD[path] || path}：${messages.map(translate).join('；')}`));
      }
    }
    general.hidden = false;
    replace(general, h('strong', error instanceof ApiError ? error.summary : String(error.message || error)),
      unplaced.length ? h('ul', unplaced) : null);
    const first = rows.find((r) => !r.error.hidden);
    (first ? first.input : general).focus?.();
  }

  el.addEventListener('change', refreshVisibility);
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    button.disabled = true;
    const label = button.textContent;
    button.textContent = '提交中…';
    try {
      const result = await spec.onSubmit(values(), el);
      if (spec.success) {
        notice.hidden = false;
        replace(notice, spec.success(result));
      }
      if (spec.reset) el.reset();
      if (spec.onDone) await spec.onDone(result, el);
    } catch (exc) {
      if (!(exc instanceof ApiError)) console.error(exc);
      showErrors(exc);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
  refreshVisibility();
  el.values = values;
  el.showErrors = showErrors;
  return el;
}

// A button that calls the API and shows the problem next to itself.
export function actionButton(text, run, { cls = 'primary', confirm: question, name } = {}) {
  const error = h('span.field-error', { hidden: true, role: 'alert' });
  const button = h(`button.${cls}`, { type: 'button', dataset: { action: name || text } }, text);
  button.addEventListener('click', async () => {
    if (question && !window.confirm(question)) return;
    error.hidden = true;
    replace(error);
    button.disabled = true;
    try {
      await run();
    } catch (exc) {
      if (!(exc instanceof ApiError)) console.error(exc);
      error.hidden = false;
      replace(error, exc instanceof ApiError ? exc.summary : String(exc.message || exc));
    } finally {
      button.disabled = false;
    }
  });
  return h('span.action', button, error);
}
