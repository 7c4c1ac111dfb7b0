import { ApiError } from '/console/js/api.js';
import { fieldValue, form, nest, translate } from '/console/js/forms.js';
import { eq, ok, test } from './run.js';

test('dotted names nest; numeric keys make arrays without holes', () => {
  eq(nest({ 'citizen.phone': '1', 'citizen.name': 'x', content: 'c' }), { citizen: { phone: '1', name: 'x' }, content: 'c' });
  eq(nest({ 'contacts.0.name': 'a', 'contacts.2.name': 'c' }), { contacts: [{ name: 'a' }, { name: 'c' }] });
});

test('field values: empty left out, numbers, booleans, lists', () => {
  eq(fieldValue({ type: 'text' }, ''), undefined);
  eq(fieldValue({ type: 'text', nullIfEmpty: true }, ''), null);
  eq(fieldValue({ type: 'number' }, '3'), 3);
  eq(fieldValue({ type: 'number' }, 'x'), 'x');
  eq(fieldValue({ type: 'boolean' }, 'false'), false);
  eq(fieldValue({ type: 'boolean' }, ''), undefined);
  eq(fieldValue({ type: 'checkbox' }, 'on', true), true);
  eq(fieldValue({ type: 'list' }, 'a, b，c'), ['a', 'b', 'c']);
  eq(fieldValue({ type: 'datetime', convert: (v) => `${v}Z` }, '2026-01-01T00:00'), '2026-01-01T00:00Z');
});

test('marshmallow messages in Chinese', () => {
  eq(translate('Missing data for required field.'), '必填');
  eq(translate('Length must be between 5 and 4000.'), '长度应在5到4000个字之间');
  eq(translate('something else'), 'something else');
});

test('a form shows the API errors next to the fields they name, the rest at the top', async () => {
  let submitted = null;
  const el = form({
    name: 't',
    fields: [
      { name: 'citizen.phone', label: '联系电话' },
      { name: 'content', label: '诉求内容', type: 'textarea' },
      { name: 'hidden_one', label: 'x', when: () => false },
    ],
    onSubmit: async (values) => {
      submitted = values;
      throw new ApiError(422, { detail: 'bad', errors: { citizen: { phone: ['not a phone'] }, extra: ['Unknown field.'] } });
    },
  });
  document.body.append(el);
  el.querySelector('[name="citizen.phone"]').value = '12';
  el.querySelector('[name="content"]').value = '内容';
  el.requestSubmit();
  await new Promise((r) => setTimeout(r, 50));
  eq(submitted, { citizen: { phone: '12' }, content: '内容' });
  const phoneError = el.querySelector('[data-field="citizen.phone"] .field-error');
  eq(phoneError.hidden, false);
  eq(phoneError.textContent, 'not a phone');
  eq(el.querySelector('[data-field="citizen.phone"] input').getAttribute('aria-invalid'), 'true');
  eq(el.querySelector('[data-field="content"] .field-error').hidden, true);
  const top = el.querySelector('.form-errors');
  eq(top.hidden, false);
  ok(top.textContent.includes('填写内容有误：bad'), top.textContent);
  ok(top.textContent.includes('extra：不认识的字段'), top.textContent);
  ok(el.querySelector('[data-field="hidden_one"]').hidden, 'a field whose condition is false is hidden');
  el.remove();
});

test('a form reports success and can reset', async () => {
  const el = form({
    name: 'ok', reset: true, fields: [{ name: 'a' }],
    onSubmit: async (v) => ({ echo: v.a }),
    success: (r) => `done ${r.echo}`,
  });
  document.body.append(el);
  el.querySelector('[name="a"]').value = 'x';
  el.requestSubmit();
  await new Promise((r) => setTimeout(r, 50));
  eq(el.querySelector('.form-ok').textContent, 'done x');
  eq(el.querySelector('[name="a"]').value, '');
  el.remove();
});
