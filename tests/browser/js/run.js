// A minimal test runner for the console's modules, in the browser (tests/browser/test_console_js.py
// opens runner.html in headless Chromium and reads window.__results).

const tests = [];
export function test(name, fn) { tests.push({ name, fn }); }

export function eq(actual, expected, message = '') {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message} expected ${e}, got ${a}`);
}

export function ok(value, message = 'expected a truthy value') {
  if (!value) throw new Error(message);
}

async function main() {
  const files = ['./format.test.js', './api.test.js', './forms.test.js', './misc.test.js', './frontdesk.test.js'];
  for (const file of files) await import(file);
  const results = { passed: 0, failed: [], names: [] };
  for (const t of tests) {
    try {
      await t.fn();
      results.passed += 1;
      results.names.push(t.name);
    } catch (exc) {
      results.failed.push({ name: t.name, error: String(exc && exc.stack || exc) });
    }
  }
  results.done = true;
  window.__results = results;
  document.getElementById('out').textContent = `${results.passed} passed, ${results.failed.length} failed\n`
    + results.failed.map((f) => `FAIL ${f.name}\n${f.error}`).join('\n');
}

main().catch((exc) => {
  window.__results = { done: true, passed: 0, failed: [{ name: 'loading the tests', error: String(exc && exc.stack || exc) }] };
});
