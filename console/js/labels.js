// Chinese terms of the glossary (shared/spec/REQUIREMENTS.md) for the codes the API uses.
// The API sends its own labels where it has them (status_label, type_label, trigger_label, kind_label,
// timeline labels); these are the fallbacks and the names of form fields and options.

export const ROLE = {
  operator: '政府热线管理办公室',
  unit_handler: '承办单位经办人',
  unit_leader: '承办单位领导',
  supervisor: '市民诉求督办中心',
  admin: '系统管理员',
  subscriber: '外部系统',
  system: '系统',
};

export const STATUS = {
  registered: '已登记',
  awaiting_dispatch: '待派单',
  dispatched: '已交办',
  accepted: '已签收',
  reviewed: '已阅批',
  replied: '已答复',
  return_requested: '退单审核中',
  closed: '已办结',
};

export const TYPE = { consult: '咨询', suggest: '建议', help: '求助', complain: '投诉', report: '举报' };
export const TYPE_LIMIT = { consult: 2, suggest: 2, help: 20, complain: 20, report: 20 };

export const CHANNEL = { phone: '12345电话', web: '政府网站', app: '手机APP', wechat: '微信公众号', external: '外部系统' };

export const REPLY_RESULT = {
  solved: '已解决',
  explained: '已解释说明（附政策法规依据）',
  invalid: '无效/无理诉求',
};

export const SATISFACTION = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };

export const CASE_STATE = { open: '督办中', reinvestigating: '重新调查处理中', closed: '已结案' };

export const TRIGGER = {
  overdue_ignored: '超过办结时限经2次催办仍置之不理',
  citizen_challenge: '当事人对反馈结果提出合理质疑',
  inadequate_investigation: '承办单位调查不力',
  improper_handling: '承办单位处理不当',
  first_responsible_refused: '第一责任主体无正当理由拒不受理',
  co_unit_declined: '协办单位不接受协办',
  co_unit_not_cooperating: '协办单位不配合',
};

export const ACCOUNTABILITY = {
  evasion: '推诿扯皮',
  ignored_reminders: '催办后置之不理',
  serious_consequences: '工作不力造成严重后果',
  not_cooperating: '不接受、不配合协办',
};

export const CO_UNIT_STATUS = { pending: '待接受', accepted: '已接受', declined: '已拒绝', contributed: '已提交协办意见' };

export const UNIT_KIND = {
  department: '市直部门',
  district: '县（市）区政府',
  development_zone: '开发区',
  enterprise: '企业',
  other: '其他',
};

export const EXTENSION_STATUS = { pending: '待审核', approved: '已批准', rejected: '未批准' };

export const DEADLINE_STATE = { running: '计时中', met: '按时答复', missed: '超期答复', stopped: '已停止' };

// Names of fields in problem+json `errors` and in the timeline's details.
export const FIELD = {
  channel: '来源渠道', type: '诉求类型', category: '诉求分类', district: '所属区域', address: '地址',
  'citizen.name': '来电人姓名', 'citizen.phone': '联系电话', content: '诉求内容', key_ticket: '重点问题件',
  unit_id: '承办单位', co_units: '协办单位', first_responsible: '第一责任主体', note: '备注',
  instructions: '阅批意见', result: '办理结果', basis: '政策法规依据', invalid_reason: '无效原因',
  contacted_citizen: '已联系市民', reason: '原因', approve: '审核结果', redispatch_to: '改派单位',
  task: '协办任务', working_days: '工作日数', reached: '是否联系上', satisfaction: '满意度', solved: '是否解决',
  unit_contacted: '承办单位是否联系', challenge: '对结果提出合理质疑', challenge_reason: '质疑理由',
  trigger: '督办事由', detail: '情况说明', inspector: '核查人', inspected_at: '核查时间', findings: '核查情况',
  responsibility: '责任认定', conclusion: '督办结论', kind: '类别', person: '责任人', number: '工单编号',
  name: '名称', main_leader: '主要领导', deputy_leader: '分管领导', contacts: '专人对接', active: '启用',
  lead_unit: '主办单位', source: '来源', holidays: '法定节假日', workdays: '调休上班日', year: '年份',
  // timeline details
  unit: '承办单位', dispatch_no: '交办次序', due_date: '办理期限', working_days_overdue: '超期工作日',
  message: '内容', reply_no: '答复编号', reviewer: '阅批人', title: '职务', case_no: '督办编号',
  co_unit: '协办单位', round: '办理轮次', extended_working_days: '延长工作日', previous_due_date: '原办理期限',
  kind_label: '类别', trigger_label: '督办事由', provisional_years: '临时期限涉及年度', requested_working_days: '申请工作日',
  satisfied: '满意', extended: '延期',
  // the front desk
  disposition: '登记方式', referred_to: '转往/引导途径', knowledge_entry_id: '知识库条目', answer_note: '答复补充说明',
  merge_into: '并入工单', into: '主工单', follow_up_of: '续报原工单', entry: '知识库条目', main: '主工单', ticket: '工单', to: '转往',
};

export function label(map, code, fallback) {
  if (code === null || code === undefined || code === '') return fallback ?? '—';
  return map[code] ?? fallback ?? String(code);
}

export function options(map) {
  return Object.entries(map).map(([value, text]) => ({ value, text }));
}

// The front desk (话务登记, issue 12): what is done with a call besides dispatching it
// (services/intake/domain.py DISPOSITIONS, EMERGENCY_LINES, LEGAL_CHANNELS).
export const DISPOSITION = {
  dispatch: '派单（交承办单位办理）',
  direct_answer: '直接答复（知识库，即时办结）',
  merged: '并单（并入未办结的工单）',
  transferred: '转紧急热线（110/119/120/122）',
  referred: '引导通过法定途径解决',
  out_of_scope: '非受理范围',
  malicious: '恶意骚扰',
};

export const EMERGENCY_LINE = { 110: '110（公安）', 119: '119（消防）', 120: '120（急救）', 122: '122（交通事故）' };

export const LEGAL_CHANNEL = { litigation: '诉讼', arbitration: '仲裁', petition: '信访', administrative_review: '行政复议' };

// why GET /v1/duplicates suggests a ticket
export const DUPLICATE_REASON = {
  same_caller: '同一来电人',
  same_place: '同一地点同类诉求',
  similar_content: '内容相似',
};

// what a knowledge-base entry's flags warn of
export const KNOWLEDGE_FLAG = { expired: '已过期', not_yet_valid: '尚未生效', review_overdue: '已过复核日期' };
