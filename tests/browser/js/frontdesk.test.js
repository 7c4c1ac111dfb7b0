import {
  debounce, duplicateQuery, knowledgeQuery, outcomeText, reasonText, referralOptions, registrationBody, similarityText,
} from '/console/js/frontdesk.js';
import { eq, ok, test } from './run.js';

const call = { channel: 'phone', type: 'complain', category: 'noise.neighbourhood', district: 'tiedong',
  citizen: { phone: '13800001234' }, content: '楼下烧烤店夜间噪音扰民', key_ticket: false };

test('front desk: each disposition sends only its own fields', () => {
  const typed = { ...call, referred_to: '110', reason: '有人打架', knowledge_entry_id: 'kb.1', answer_note: 'n',
    merge_into: 'AS1', follow_up_of: 'AS0' };
  eq(registrationBody({ ...typed, disposition: 'dispatch' }),
    { ...call, follow_up_of: 'AS0', disposition: 'dispatch' });
  eq(registrationBody({ ...typed, disposition: 'direct_answer' }),
    { channel: 'phone', type: 'complain', category: 'noise.neighbourhood', district: 'tiedong',
      citizen: { phone: '13800001234' }, content: '楼下烧烤店夜间噪音扰民', knowledge_entry_id: 'kb.1', answer_note: 'n',
      follow_up_of: 'AS0', disposition: 'direct_answer' });
  const transferred = registrationBody({ ...typed, disposition: 'transferred' });
  eq([transferred.referred_to, transferred.reason, transferred.merge_into, transferred.key_ticket], ['110', '有人打架', undefined, undefined]);
  const merged = registrationBody({ ...typed, disposition: 'merged' });
  eq([merged.merge_into, merged.reason, merged.referred_to, merged.knowledge_entry_id], ['AS1', '有人打架', undefined, undefined]);
  eq(registrationBody({ content: 'x' }).disposition, 'dispatch');
});

test('front desk: referral choices follow the disposition', () => {
  eq(referralOptions('transferred').map((o) => o.value), ['110', '119', '120', '122']);
  eq(referralOptions('referred').map((o) => o.value), ['litigation', 'arbitration', 'petition', 'administrative_review']);
  eq(referralOptions('dispatch'), []);
});

test('front desk: duplicates are asked for once the draft says enough', () => {
  eq(duplicateQuery({}), null);
  eq(duplicateQuery({ content: '噪音', citizen: { phone: '138' } }), null);
  eq(duplicateQuery({ category: 'noise.neighbourhood' }), null);
  eq(duplicateQuery({ category: 'noise.neighbourhood', district: 'tiedong' }), { category: 'noise.neighbourhood', district: 'tiedong' });
  eq(duplicateQuery({ citizen: { phone: '13800001234' } }), { phone: '13800001234' });
  eq(duplicateQuery({ content: ' 楼下烧烤店夜间噪音 ', address: '胜利路1号', citizen: { phone: '1380' } }),
    { content: '楼下烧烤店夜间噪音', address: '胜利路1号' });
  eq(duplicateQuery({ content: '长'.repeat(1500) }).content.length, 1000);
});

test('front desk: knowledge search words from the content', () => {
  eq(knowledgeQuery(''), null);
  eq(knowledgeQuery(' 社 '), null);
  eq(knowledgeQuery(' 社保卡丢了 '), '社保卡丢了');
  eq(knowledgeQuery('字'.repeat(300)).length, 200);
});

test('front desk: reasons and outcomes in Chinese', () => {
  eq(reasonText(['same_caller', 'same_place', 'similar_content']), '同一来电人、同一地点同类诉求、内容相似');
  eq(similarityText(0.456), '相似度 46%');
  eq(similarityText(undefined), '');
  ok(outcomeText({ disposition: 'merged', disposition_label: '并单', merged_into: { number: 'AS9' } }).includes('已并入工单 AS9'));
  ok(outcomeText({ disposition: 'transferred', disposition_label: '转紧急热线', referred_to: '110' }).includes('110（公安）'));
  ok(outcomeText({ disposition: 'referred', referred_to: 'petition' }).includes('信访'));
  ok(outcomeText({ disposition: 'direct_answer', disposition_label: '直接答复', answer: { title: '社保卡挂失' } }).includes('知识库：社保卡挂失'));
  ok(outcomeText({}).includes('派单'));
});

test('front desk: debounce calls once after the calls stop', async () => {
  let calls = 0;
  const f = debounce(() => { calls += 1; }, 20);
  f(); f(); f();
  await new Promise((r) => setTimeout(r, 60));
  eq(calls, 1);
});
