// The front desk's pure logic (话务登记, issue 12): which fields each disposition sends, when a draft
// call says enough to ask for duplicate candidates, and how a registration's outcome reads. No DOM,
// no requests: tests/browser/js/frontdesk.test.js tests it. The API decides; these only shape what is
// sent and shown.

import { DISPOSITION, DUPLICATE_REASON, EMERGENCY_LINE, LEGAL_CHANNEL, label } from './labels.js';

// dispositions that close the ticket at intake with a reason (frontdesk.py CLOSED_AT_INTAKE)
export const SORTED = ['transferred', 'referred', 'out_of_scope', 'malicious'];

// the fields of the registration form that only some dispositions send
const ONLY = {
  referred_to: ['transferred', 'referred'],
  reason: [...SORTED, 'merged'],
  knowledge_entry_id: ['direct_answer'],
  answer_note: ['direct_answer'],
  merge_into: ['merged'],
  key_ticket: ['dispatch'],
};

// The body of POST /v1/tickets from the form's values: a field the chosen disposition does not use is
// left out (a hidden field keeps what was typed in it before the operator changed their mind).
export function registrationBody(values) {
  const disposition = values.disposition || 'dispatch';
  const body = { ...values, disposition };
  for (const [name, uses] of Object.entries(ONLY)) {
    if (!uses.includes(disposition)) delete body[name];
  }
  return body;
}

// The referral choices of a disposition: the emergency lines or the legal channels.
export function referralOptions(disposition) {
  const map = disposition === 'transferred' ? EMERGENCY_LINE : disposition === 'referred' ? LEGAL_CHANNEL : {};
  return Object.entries(map).map(([value, text]) => ({ value, text }));
}

const PHONE = /^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/;
export const MIN_CONTENT = 6;

// The query of GET /v1/duplicates for a draft call, or null while it says too little: some words of
// the content, a whole phone number, or both the category and the district.
export function duplicateQuery(values) {
  const content = String(values.content || '').trim();
  const phone = String((values.citizen && values.citizen.phone) || '').trim();
  const enough = content.length >= MIN_CONTENT || PHONE.test(phone) || (values.category && values.district);
  if (!enough) return null;
  const query = {
    content: content.slice(0, 1000),
    address: String(values.address || '').trim().slice(0, 200),
    category: values.category || '',
    district: values.district || '',
    phone: PHONE.test(phone) ? phone : '',
  };
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v));
}

// The words to search the knowledge base with while the content is typed (the API takes 1-200).
export function knowledgeQuery(content) {
  const text = String(content || '').trim();
  return text.length >= 2 ? text.slice(0, 200) : null;
}

export function reasonText(reasons) {
  return (reasons || []).map((r) => label(DUPLICATE_REASON, r)).join('、');
}

export function similarityText(similarity) {
  if (similarity === null || similarity === undefined) return '';
  return `相似度 ${Math.round(Number(similarity) * 100)}%`;
}

// What was done with a registered call, in the ticket's view as the API answered it.
export function outcomeText(t) {
  const kind = t.disposition || 'dispatch';
  const name = t.disposition_label || label(DISPOSITION, kind);
  switch (kind) {
    case 'direct_answer':
      return `登记方式：${name}${t.answer && t.answer.title ? `（知识库：${t.answer.title}）` : ''}，不派单。`;
    case 'merged':
      return `登记方式：${name}，已并入工单 ${t.merged_into ? t.merged_into.number || t.merged_into.id : ''}，随主工单办理。`;
    case 'transferred':
      return `登记方式：${name}，转${label(EMERGENCY_LINE, t.referred_to)}处置，不派单。`;
    case 'referred':
      return `登记方式：${name}，引导通过${label(LEGAL_CHANNEL, t.referred_to)}途径解决，不派单。`;
    case 'out_of_scope':
    case 'malicious':
      return `登记方式：${name}，不予受理，不派单。`;
    default:
      return `登记方式：${name}。系统将按分类派单。${t.follow_up_of ? `（续报原工单 ${t.follow_up_of.number}）` : ''}`;
  }
}

// 并单 after registration (frontdesk.py merge, OPEN_FOR_MERGE): a ticket sent to dispatch at intake, not
// merged yet, not closed, that no unit has signed for, and with no tickets merged into it. Only to
// decide whether to offer the form: the API decides.
export const OPEN_FOR_MERGE = ['registered', 'awaiting_dispatch', 'dispatched'];

export function mergeable(t) {
  return Boolean(t) && !t.merged_into && !t.closed && (t.disposition || 'dispatch') === 'dispatch'
    && OPEN_FOR_MERGE.includes(t.status) && !(t.merged_tickets || []).length;
}

// 撤销并单 (frontdesk.py unmerge): a merged ticket that is not closed.
export function unmergeable(t) {
  return Boolean(t && t.merged_into) && !t.closed;
}

// The number (or id) of the main ticket a merged ticket follows.
export function mainNumber(t) {
  return t && t.merged_into ? t.merged_into.number || t.merged_into.id : '';
}

// Call `fn` once the calls stop for `ms` milliseconds.
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
