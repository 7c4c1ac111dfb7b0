// What each role is offered in the console: a copy of the "Roles:" lines of openapi.yaml, used only
// to leave out buttons and pages a role could not use. The API decides: when it refuses, the page
// shows its answer (403/404/409 problem) as it is.

export const CITY = ['operator', 'supervisor', 'admin'];
export const UNIT = ['unit_handler', 'unit_leader'];
const OFFICE = ['operator', 'admin'];

export const CAN = {
  register: OFFICE,                  // POST /v1/tickets
  merge: OFFICE,                     // POST /v1/tickets/{key}/merge and /unmerge (并单, 撤销并单)
  search: [...CITY, ...UNIT],        // GET /v1/tickets (a unit sees its own)
  dispatch: OFFICE,                  // POST /v1/tickets/{key}/dispatch
  decideReturn: OFFICE,              // POST .../returns/decision
  decideExtension: OFFICE,           // POST .../extensions/decision
  callback: [...OFFICE, ...UNIT],    // POST .../callbacks (a unit: its own callback)
  keyTicket: OFFICE,                 // POST .../key-ticket
  remind: OFFICE,                    // POST .../reminders
  report: OFFICE,                    // POST .../supervision
  accept: UNIT,                      // POST .../accept (the lead unit)
  review: ['unit_leader'],           // POST .../review (main or deputy leader)
  reply: UNIT,                       // POST .../reply
  requestReturn: UNIT,               // POST .../returns
  addCoUnit: UNIT,                   // POST .../co-units
  coUnit: UNIT,                      // POST .../co-units/{unit}/accept|decline|contribution
  requestExtension: ['unit_leader'], // POST .../extensions
  verify: UNIT,                      // POST .../verification
  cases: CITY,                       // GET /v1/supervision-cases
  reinvestigate: ['supervisor', 'admin'], // POST /v1/supervision-cases/{id}/reinvestigation
  closeCase: ['supervisor', 'admin'],     // POST /v1/supervision-cases/{id}/close
  accountability: [...CITY, ...UNIT],     // GET /v1/accountability (a unit sees its own)
  recordAccountability: ['supervisor', 'admin'],
  statistics: CITY,                  // GET /v1/statistics
  rules: CITY,                       // GET /v1/routing-rules
  admin: ['admin'],                  // PUT units, rules, calendar; the clock
};

export function can(user, action) {
  return Boolean(user && CAN[action] && CAN[action].includes(user.role));
}

export function isUnit(user) {
  return Boolean(user && UNIT.includes(user.role));
}

// The pages in the navigation of each role, in order; the first is the role's home.
export const NAV = {
  operator: [
    ['#/office', '话务登记'], ['#/queue', '派单队列'], ['#/decisions', '退单与延期'], ['#/followup', '回访与催办'],
    ['#/tickets', '工单查询'], ['#/supervision', '督办案件'], ['#/dashboard', '领导看板'],
  ],
  unit_handler: [['#/unit', '待办工单'], ['#/tickets', '工单查询'], ['#/unit/figures', '本单位情况']],
  unit_leader: [['#/unit', '待办工单'], ['#/tickets', '工单查询'], ['#/unit/figures', '本单位情况']],
  supervisor: [
    ['#/supervision', '督办中心'], ['#/accountability', '责任追究'], ['#/tickets', '工单查询'], ['#/dashboard', '领导看板'],
  ],
  admin: [
    ['#/admin', '系统管理'], ['#/dashboard', '领导看板'], ['#/office', '话务登记'], ['#/queue', '派单队列'],
    ['#/decisions', '退单与延期'], ['#/followup', '回访与催办'], ['#/tickets', '工单查询'], ['#/supervision', '督办中心'],
    ['#/accountability', '责任追究'],
  ],
  subscriber: [],
};

export function home(user) {
  const nav = (user && NAV[user.role]) || [];
  return nav.length ? nav[0][0] : '#/signin';
}
