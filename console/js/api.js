// The HTTP API (openapi.yaml) with the signed-in user's bearer token. Every error answer is RFC 9457
// problem+json; it becomes an ApiError carrying the problem and its `errors` flattened to dotted
// field names ({"citizen": {"phone": [...]}} -> {"citizen.phone": [...]}) for the forms.

import { token } from './session.js';

export class ApiError extends Error {
  constructor(status, problem, headers) {
    const p = problem || {};
    super(p.detail || p.title || `HTTP ${status}`);
    this.status = status;
    this.problem = p;
    this.errors = flattenErrors(p.errors);
    this.headers = headers || null;
  }

  // The message a person reads: the API's own detail, with what kind of answer it was.
  get summary() {
    return `${STATUS_TEXT[this.status] || `错误 ${this.status}`}${this.message ? '：' + this.message : ''}`;
  }
}

export const STATUS_TEXT = {
  0: '无法连接服务器',
  400: '请求有误',
  401: '未登录或登录已过期',
  403: '无权进行此操作',
  404: '未找到（或不属于本单位）',
  408: '请求超时',
  409: '当前状态下不能进行此操作',
  412: '工单已被他人更新，请刷新后重试',
  413: '内容过大',
  422: '填写内容有误',
  429: '操作过于频繁，请稍后再试',
  500: '系统内部错误',
  502: '后台服务出错',
  503: '服务暂不可用，请稍后重试',
  504: '服务响应超时',
};

export function flattenErrors(errors, prefix = '', out = {}) {
  if (errors === null || errors === undefined) return out;
  if (Array.isArray(errors) || typeof errors !== 'object') {
    const list = Array.isArray(errors) ? errors : [errors];
    const messages = [];
    list.forEach((item, i) => {
      if (item !== null && typeof item === 'object') flattenErrors(item, prefix ? `${prefix}.${i}` : String(i), out);
      else messages.push(String(item));
    });
    if (messages.length) (out[prefix || '_'] = out[prefix || '_'] || []).push(...messages);
    return out;
  }
  for (const [key, value] of Object.entries(errors)) flattenErrors(value, prefix ? `${prefix}.${key}` : key, out);
  return out;
}

// The API's root: the console is served at <root>/console/, so the API is one level up.
let root = null;
export function apiRoot() {
  if (root === null) root = new URL('../', document.baseURI).href.replace(/\/$/, '');
  return root;
}
export function setApiRoot(url) { root = url.replace(/\/$/, ''); }

let unauthorized = () => {};
export function onUnauthorized(handler) { unauthorized = handler; }

export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, typeof value === 'boolean' ? String(value) : value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export async function request(method, path, { body, query, headers, bearer, raw } = {}) {
  const h = { Accept: 'application/json, application/problem+json', ...(headers || {}) };
  const t = bearer === undefined ? token() : bearer;
  if (t) h.Authorization = `Bearer ${t}`;
  const init = { method, headers: h, cache: 'no-store' };
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiRoot() + path + queryString(query), init);
  } catch (exc) {
    throw new ApiError(0, { title: '网络错误', detail: String(exc && exc.message || exc) });
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { problem = { title: response.statusText }; }
    const error = new ApiError(response.status, problem, response.headers);
    if (response.status === 401 && t && t === token()) unauthorized(error); // not a stale request of an earlier sign-in
    throw error;
  }
  if (raw) return response;
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  return { status: response.status, data, headers: response.headers };
}

export const get = (path, query, opts) => request('GET', path, { ...opts, query }).then((r) => r.data);
export const post = (path, body, opts) => request('POST', path, { ...opts, body: body ?? {} }).then((r) => r.data);
export const put = (path, body, opts) => request('PUT', path, { ...opts, body }).then((r) => r.data);
export const del = (path, opts) => request('DELETE', path, opts).then((r) => r.data);

// GET that answers null instead of throwing for the given statuses (a feature the API may not have
// yet: 404; a role the API refuses: 403).
export async function maybe(path, query, statuses = [403, 404]) {
  try {
    return await get(path, query);
  } catch (exc) {
    if (exc instanceof ApiError && statuses.includes(exc.status)) return null;
    throw exc;
  }
}

// Every page of a cursor listing (Link: rel="next" / next_cursor), up to `max` items.
export async function all(path, query = {}, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...query, cursor });
    items.push(...(page.items || []));
    cursor = page.next_cursor || null;
  } while (cursor && items.length < max);
  return items;
}

// A file the API answers (bulletin PDF, statistics CSV): fetched with the token, then saved.
export async function download(path, query, fallbackName) {
  const response = await request('GET', path, { query, raw: true, headers: { Accept: '*/*' } });
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1] || match[2]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name || 'download';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return 'k' + Date.now().toString(36) + Math.random().toString(36).slice(2);
}
