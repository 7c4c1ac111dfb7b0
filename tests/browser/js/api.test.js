import { ApiError, flattenErrors, queryString } from '/console/js/api.js';
import { eq, ok, test } from './run.js';

test('problem+json errors flatten to dotted field names', () => {
  eq(flattenErrors({ citizen: { phone: ['bad'] }, content: ['short'] }), { 'citizen.phone': ['bad'], content: ['short'] });
  eq(flattenErrors({ contacts: { 0: { name: ['required'] } } }), { 'contacts.0.name': ['required'] });
  eq(flattenErrors({ holidays: [{ date: ['not a date'] }] }), { 'holidays.0.date': ['not a date'] });
  eq(flattenErrors({ measures: ['x', 'y'] }), { measures: ['x', 'y'] });
  eq(flattenErrors(undefined), {});
});

test('ApiError carries the problem and a Chinese summary', () => {
  const e = new ApiError(422, { title: 'Validation failed', detail: 'the request has invalid fields', errors: { a: { b: ['m'] } } });
  eq(e.status, 422);
  eq(e.errors, { 'a.b': ['m'] });
  eq(e.summary, '填写内容有误：the request has invalid fields');
  ok(new ApiError(404, {}).summary.startsWith('未找到'));
});

test('query strings leave out empty values', () => {
  eq(queryString({ status: 'replied', unit: '', cursor: null, overdue: false, limit: 200 }), '?status=replied&overdue=false&limit=200');
  eq(queryString({}), '');
});
