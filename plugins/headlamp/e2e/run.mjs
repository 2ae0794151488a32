// The browser test: Headlamp's frontend (the harness build of @kinvolk/headlamp-plugin's lib/)
// with the plugin's packaged main.js, loaded by Headlamp's own plugin loader, in Debian's
// headless chromium driven by playwright-core, against a real kube-apiserver with backupview
// and the demo's objects. hack/test-headlamp.sh sets it up; run with `node --test e2e/run.mjs`.
// Every expectation is read from the cluster (the server's own Table, views and options), not
// written down here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { loadKubeconfig, startServer } from './server.mjs';

const env = k => {
  if (!process.env[k]) throw new Error(`${k} is not set: run hack/test-headlamp.sh`);
  return process.env[k];
};
const ADMIN = env('E2E_ADMIN_KUBECONFIG');
const ALICE = env('E2E_ALICE_KUBECONFIG');
const ALICE_NS = env('E2E_ALICE_NAMESPACE');
const KUBECTL = env('E2E_KUBECTL');
const OUT = env('E2E_OUT');
const STATIC = env('E2E_HARNESS');
const PLUGIN = env('E2E_PLUGIN_DIR');
const NEW = `e2e-${process.pid}`; // the BackupConfiguration the form creates
const NEW_NS = 'demo';
const API = '/apis/ui.kubestash.com/v1alpha1';

fs.mkdirSync(OUT, { recursive: true });

function kube(kubeconfig, p, accept = 'application/json') {
  const kc = loadKubeconfig(kubeconfig);
  return new Promise((resolve, reject) => {
    https
      .get(
        { host: kc.server.hostname, port: kc.server.port, path: p, ca: kc.ca, cert: kc.cert, key: kc.key, headers: { Accept: accept } },
        res => {
          let b = '';
          res.on('data', d => (b += d));
          res.on('end', () => {
            let body = null;
            try {
              body = b ? JSON.parse(b) : null;
            } catch {
              body = b;
            }
            resolve({ status: res.statusCode, body });
          });
        }
      )
      .on('error', reject);
  });
}
const kubectl = (...args) => execFileSync(KUBECTL, ['--kubeconfig', ADMIN, ...args], { encoding: 'utf8' });

/** The server's own Table of the views (what `kubectl get bcv` prints), by namespace/name. */
async function serverTable(kubeconfig = ADMIN, ns) {
  const r = await kube(kubeconfig, `${API}${ns ? `/namespaces/${ns}` : ''}/backupconfigurationviews`, 'application/json;as=Table;v=v1;g=meta.k8s.io');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const cols = r.body.columnDefinitions.map(c => c.name);
  const rows = {};
  for (const row of r.body.rows) {
    const o = Object.fromEntries(cols.map((c, i) => [c, String(row.cells[i])]));
    o.Namespace = row.object.metadata.namespace;
    rows[`${o.Namespace}/${o.Name}`] = o;
  }
  return rows;
}

/** The list page's table as the browser shows it: header label -> cell text, per row. */
async function uiTable(page) {
  return page.evaluate(() => {
    const t = document.querySelector('main table');
    if (!t) return [];
    const heads = [...t.querySelectorAll('thead th')].map(th => th.innerText.split('\n')[0].trim());
    return [...t.querySelectorAll('tbody tr')]
      .map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))
      .filter(cells => cells.length === heads.length)
      .map(cells => Object.fromEntries(heads.map((h, i) => [h, cells[i]])));
  });
}

let browser, admin, aliceSrv, base, aliceBase;
const shot = (page, name) => page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });

before(async () => {
  admin = await startServer({ kubeconfig: ADMIN, staticDir: STATIC, pluginDir: PLUGIN });
  aliceSrv = await startServer({ kubeconfig: ALICE, staticDir: STATIC, pluginDir: PLUGIN });
  base = `http://127.0.0.1:${admin.address().port}`;
  aliceBase = `http://127.0.0.1:${aliceSrv.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  admin?.close();
  aliceSrv?.close();
});

async function newPage(url, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1500, height: 1000 }, ...opts });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', e => page.errors.push(String(e)));
  await page.goto(url);
  return page;
}

const LIST = '/c/main/backupview/backupconfigurations';

test('list: every view with the console columns and the server HEALTH', async () => {
  const want = await serverTable();
  assert.ok(Object.keys(want).length >= 7, 'the demo has 7 BackupConfigurations');
  const page = await newPage(base + LIST);
  await page.locator('main table tbody tr').nth(Object.keys(want).length - 1).waitFor();
  const rows = await uiTable(page);
  assert.deepEqual(
    Object.keys(rows[0]).filter(Boolean),
    ['Name', 'Namespace', 'Schedule', 'Paused', 'Repository', 'BackupStorage', 'Target', 'Task', 'RetentionPolicy', 'Phase', 'Health', 'Age', 'Actions'].filter(h => h !== 'Actions' || 'Actions' in rows[0])
  );
  assert.equal(rows.length, Object.keys(want).length, 'one row per view');
  const none = s => (s === '<none>' ? '' : s);
  for (const r of rows) {
    const w = want[`${r.Namespace}/${r.Name}`];
    assert.ok(w, `row ${r.Namespace}/${r.Name} is a view the server lists`);
    for (const c of ['Schedule', 'Paused', 'Repository', 'BackupStorage', 'Target', 'Task', 'RetentionPolicy', 'Phase', 'Health']) {
      // Cells wrap in the browser: compare without whitespace.
      assert.equal(r[c].replace(/\s+/g, ''), none(w[c]).replace(/\s+/g, ''), `${r.Namespace}/${r.Name} ${c}`);
    }
  }
  const verdicts = new Set(rows.map(r => r.Health));
  assert.ok(verdicts.size >= 5, `the demo shows many verdicts, saw ${[...verdicts]}`);
  await shot(page, '01-list');

  // Sort: by Name, descending after two clicks.
  await page.getByRole('button', { name: 'Sort by Name ascending' }).click();
  let names = (await uiTable(page)).map(r => r.Name);
  assert.deepEqual(names, [...names].sort());
  // Search (Headlamp's table search).
  await page.getByRole('button', { name: /search/i }).first().click();
  await page.getByPlaceholder(/search/i).fill('postgres');
  const cols = ['Name', 'Namespace', 'Schedule', 'Repository', 'BackupStorage', 'Target', 'Task', 'RetentionPolicy', 'Phase', 'Health'];
  const hits = Object.values(want).filter(w => cols.some(c => /postgres/i.test(w[c])));
  assert.ok(hits.length > 0 && hits.length < rows.length);
  await page.waitForFunction(n => document.querySelectorAll('main table tbody tr').length === n, hits.length);
  names = (await uiTable(page)).map(r => r.Name);
  assert.deepEqual(names.sort(), hits.map(w => w.Name).sort());
  // The namespace filter, as Headlamp's other lists have it (?namespace=).
  assert.deepEqual(page.errors, []);
  const prodPage = await newPage(base + LIST + '?namespace=prod');
  const prod = Object.values(want).filter(w => w.Namespace === 'prod');
  await prodPage.waitForFunction(n => document.querySelectorAll('main table tbody tr').length === n, prod.length);
  assert.deepEqual((await uiTable(prodPage)).map(r => r.Namespace), prod.map(() => 'prod'));
});

test('detail: every panel of the console, read from the view', async () => {
  const view = (await kube(ADMIN, `${API}/namespaces/demo/backupconfigurationviews/mongodb-backup`)).body;
  const health = (await serverTable(ADMIN, 'demo'))['demo/mongodb-backup'].Health;
  const page = await newPage(base + LIST + '?namespace=demo');
  await page.getByRole('link', { name: 'mongodb-backup' }).click();
  for (const h of ['Basic', 'Health', 'Backup Sessions', 'Retention Policies', 'Target', 'Repository', 'Snapshots', 'Verification', 'BackupStorage', 'CronJobs', 'Manifest of the view']) {
    await page.getByRole('heading', { name: h, exact: true }).waitFor();
  }
  const body = await page.innerText('main');
  assert.ok(body.includes(view.basic.uid), 'Basic shows the UID');
  assert.equal(await page.getByTestId('bv-health').first().getAttribute('data-verdict'), health);
  for (const s of view.backupSessions ?? []) assert.ok(body.includes(s.name), `Backup Sessions lists ${s.name}`);
  for (const r of view.repositories ?? []) assert.ok(body.includes(r.name) && body.includes(r.size), `Repository ${r.name}`);
  for (const r of view.repositories ?? []) for (const s of r.snapshots ?? []) assert.ok(body.includes(s.name), `Snapshots lists ${s.name}`);
  const verified = (view.repositories ?? []).filter(r => r.verification);
  assert.ok(verified.length > 0, 'the demo verifies mongodb-repo');
  for (const r of verified) {
    const vr = r.verification;
    assert.ok(body.includes(`${vr.verifier.namespace}/${vr.verifier.name}`) && body.includes(vr.lastSession.name), `Verification of ${r.name}`);
  }
  for (const p of view.retentionPolicies ?? []) assert.ok(body.includes(`${p.namespace}/${p.name}`), `Retention ${p.name}`);
  for (const s of view.backupStorages ?? []) assert.ok(body.includes(s.provider), `BackupStorage ${s.name}`);
  for (const r of view.health.reasons ?? []) assert.ok(body.includes(r.field), `health reason names ${r.field}`);
  // CronJobs link to Headlamp's own CronJob page.
  const cj = view.cronJobs[0];
  assert.equal(await page.getByRole('link', { name: cj.name }).getAttribute('href'), `/c/main/cronjobs/${cj.namespace}/${cj.name}`);
  // The YAML of the view, and its JSON.
  assert.match(await page.getByTestId('bv-view-manifest').innerText(), /kind: BackupConfigurationView/);
  await page.getByRole('button', { name: 'JSON', exact: true }).click();
  assert.equal(JSON.parse(await page.getByTestId('bv-view-manifest').innerText()).basic.uid, view.basic.uid);
  await shot(page, '02-detail');
  // A view whose target is missing says "No data available".
  const all = (await kube(ADMIN, `${API}/backupconfigurationviews`)).body.items;
  const missing = all.find(v => !v.target.found && !v.target.restricted);
  assert.ok(missing, 'the demo has a view whose target does not exist');
  await page.goto(base + `/c/main/backupview/backupconfigurations/${missing.metadata.namespace}/${missing.metadata.name}`);
  assert.match(await page.getByTestId('bv-target-missing').innerText(), /^No data available/);
  // A target Headlamp knows links to its page, and its page lists the BackupConfiguration.
  const sts = all.find(v => v.target.found && v.target.kind === 'StatefulSet');
  await page.goto(base + `/c/main/backupview/backupconfigurations/${sts.metadata.namespace}/${sts.metadata.name}`);
  await page.getByRole('link', { name: `StatefulSet ${sts.target.namespace}/${sts.target.name}` }).click();
  await page.waitForURL(`**/statefulsets/${sts.target.namespace}/${sts.target.name}`);
  await page.getByRole('heading', { name: 'Backup Configurations' }).waitFor();
  const section = page.getByTestId('bv-target-section');
  await section.getByRole('link', { name: sts.metadata.name }).waitFor();
  const stsHealth = (await serverTable(ADMIN, sts.metadata.namespace))[`${sts.metadata.namespace}/${sts.metadata.name}`].Health;
  assert.equal(await section.getByTestId('bv-health').first().getAttribute('data-verdict'), stsHealth);
  await shot(page, '03-statefulset-section');
  assert.deepEqual(page.errors, []);
});

async function choose(page, testid, option) {
  await page.locator(`[data-testid="${testid}"][role="combobox"]`).click();
  await page.getByRole('option', { name: option }).click();
}
const input = (page, testid) => page.locator(`input[data-testid="${testid}"], textarea[data-testid="${testid}"]`);

test('create: dropdowns from the options, 422 at its fields, preview, JSON, edit, submit, live in the list', async () => {
  const options = (await kube(ADMIN, `${API}/namespaces/${NEW_NS}/backupconfigurationoptions/default`)).body;
  // A second tab on the list: the new view must appear there without a reload (watch).
  const listPage = await newPage(base + LIST + `?namespace=${NEW_NS}`);
  await listPage.locator('main table tbody tr').first().waitFor();
  const before = (await uiTable(listPage)).length;

  const page = await newPage(base + LIST + `?namespace=${NEW_NS}`, { permissions: ['clipboard-read', 'clipboard-write'] });
  await page.getByRole('button', { name: 'Create New Instance' }).click();
  await page.getByRole('heading', { name: 'Create BackupConfiguration' }).waitFor();
  // Required fields are marked.
  for (const l of ['Namespace', 'Name', 'Storage Ref', 'Retention Policy', 'Session Name', 'Schedule', 'Addon Name', 'Task Name', 'Api Group', 'Kind']) {
    assert.ok(await page.locator('label', { hasText: new RegExp(`^${l}\\s*\\*`) }).count(), `${l} is marked required`);
  }
  await choose(page, 'metadata.namespace', NEW_NS);
  // The storage default comes from the options.
  const defStorage = options.storages.find(s => s.default).ref;
  await page.locator('[data-testid="spec.storageRef"][role="combobox"]').filter({ hasText: defStorage }).waitFor();
  const otherPolicy = options.retentionPolicies[options.retentionPolicies.length - 1].ref;
  await choose(page, 'spec.retentionPolicy', new RegExp(`^${otherPolicy}`));
  // First the name of a BackupConfiguration that exists: the server warns, and does not refuse.
  const existing = 'mongodb-backup';
  await input(page, 'metadata.name').fill(existing);
  await input(page, 'spec.sessions[0].name').fill('nightly');
  await input(page, 'spec.sessions[0].schedule').fill('every night'); // wrong on purpose
  const addon = options.addons.find(a => a.name === 'mongodb-addon');
  await choose(page, 'spec.sessions[0].addon', addon.name);
  await choose(page, 'spec.sessions[0].tasks[0].name', addon.backupTasks[0].name);
  await input(page, 'spec.sessions[0].tasks[0].repoName').fill(`${NEW}-repo`);
  await shot(page, '04-form');

  // Preview with no target and a bad schedule: the server's 422 lands at those fields, and the
  // Sessions and Target panels (only they) say "Error in fields".
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByTestId('bv-error-sessions').waitFor();
  await page.getByTestId('bv-error-target').waitFor();
  assert.equal(await page.getByTestId('bv-error-basic').count(), 0);
  assert.equal(await page.getByTestId('bv-error-labels').count(), 0);
  const helper = id => page.locator(`[id="${id}-helper-text"]`);
  assert.match(await helper('spec.sessions[0].schedule').innerText(), /every night/);
  for (const f of ['kind', 'name']) assert.match(await helper(`spec.target.${f}`).innerText(), /Required/);
  await shot(page, '05-form-422');
  const target = options.targets.find(t => t.kind === 'MongoDB');
  await choose(page, 'bv.targetChoice', new RegExp(`^${target.kind} ${target.name}`));
  assert.equal(await input(page, 'spec.target.name').inputValue(), target.name);
  assert.equal(await input(page, 'spec.target.apiGroup').inputValue(), target.apiGroup);

  await input(page, 'spec.sessions[0].schedule').fill('0 1 * * *');
  const preview = async () => {
    const r = page.waitForResponse(r => r.url().includes('/backupconfigurationpreviews') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Preview' }).click();
    const resp = await r;
    assert.equal(resp.status(), 201);
    await page.getByTestId('bv-manifest').waitFor();
    return resp;
  };
  let resp = await preview();
  // The server's warnings (Warning headers), each shown.
  let warnHeader = (await resp.headerValue('warning')) ?? '';
  let shown = await page.getByTestId('bv-warning').allInnerTexts();
  assert.ok(shown.length >= 1, `a warning for the existing ${existing}: ${warnHeader}`);
  assert.equal(shown.length, (warnHeader.match(/\d{3} - "/g) ?? []).length, `warnings ${warnHeader} shown as ${shown}`);
  assert.ok(shown.some(w => w.includes(existing)), shown.join(' | '));
  await shot(page, '06-preview-warning');
  // Previous keeps the form: rename, preview again.
  await page.getByRole('button', { name: 'Previous' }).click();
  assert.equal(await input(page, 'spec.sessions[0].schedule').inputValue(), '0 1 * * *');
  await input(page, 'metadata.name').fill(NEW);
  resp = await preview();
  warnHeader = (await resp.headerValue('warning')) ?? '';
  shown = await page.getByTestId('bv-warning').allInnerTexts();
  assert.equal(shown.length, (warnHeader.match(/\d{3} - "/g) ?? []).length, `warnings ${warnHeader} shown as ${shown}`);
  const yamlText = await input(page, 'bv-manifest').inputValue();
  assert.match(yamlText, /^apiVersion: core\.kubestash\.com\/v1alpha1\nkind: BackupConfiguration\n/m);
  assert.match(yamlText, new RegExp(`name: ${NEW}`));
  assert.match(yamlText, /schedule: 0 1 \* \* \*/);
  await shot(page, '07-preview-yaml');

  // JSON, Copy, edit.
  await page.getByTestId('bv-fmt-json').click();
  const jsonText = await input(page, 'bv-manifest').inputValue();
  const manifest = JSON.parse(jsonText);
  assert.equal(manifest.kind, 'BackupConfiguration');
  await page.getByRole('button', { name: 'Copy' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), jsonText);
  manifest.metadata.labels = { ...(manifest.metadata.labels ?? {}), 'e2e-edited': 'yes' };
  await input(page, 'bv-manifest').fill(JSON.stringify(manifest, null, 2));
  await shot(page, '08-preview-json-edited');

  await page.getByRole('button', { name: 'Submit' }).click();
  await page.getByTestId('bv-submit-result').waitFor();
  assert.match(await page.getByTestId('bv-submit-result').innerText(), new RegExp(`Created BackupConfiguration ${NEW_NS}/${NEW}`));
  await shot(page, '09-submitted');
  // What was created is the edited manifest, created with the user's rights.
  const created = JSON.parse(kubectl('get', 'backupconfigurations.core.kubestash.com', '-n', NEW_NS, NEW, '-o', 'json'));
  assert.equal(created.metadata.labels['e2e-edited'], 'yes');
  assert.equal(created.spec.sessions[0].scheduler.schedule, '0 1 * * *');

  // The other tab, never reloaded, shows the new view.
  await listPage.getByRole('link', { name: NEW }).waitFor({ timeout: 20000 });
  assert.equal((await uiTable(listPage)).length, before + 1);
  await shot(listPage, '10-list-live');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(listPage.errors, []);
});

test('a namespace-bound user sees only her namespace, and is told which role grants the rest', async () => {
  const want = await serverTable(ALICE, ALICE_NS);
  const forbidden = await kube(ALICE, `${API}/backupconfigurationviews`);
  assert.equal(forbidden.status, 403, 'alice may not list all namespaces');
  const page = await newPage(aliceBase + LIST + `?namespace=${ALICE_NS}`);
  await page.locator('main table tbody tr').nth(Object.keys(want).length - 1).waitFor();
  const rows = await uiTable(page);
  assert.deepEqual(rows.map(r => `${r.Namespace}/${r.Name}`).sort(), Object.keys(want).sort());
  assert.equal(await page.getByTestId('bv-problem').count(), 0, 'no error shown');
  await shot(page, '11-alice-namespace');
  assert.deepEqual(page.errors, []);
  // All namespaces (a fresh browser: Headlamp remembers the namespace filter).
  const all = await newPage(aliceBase + LIST);
  await all.getByTestId('bv-problem').waitFor();
  const msg = await all.getByTestId('bv-problem').innerText();
  assert.match(msg, /Access denied/);
  assert.match(msg, /RoleBinding to "view" in the namespace/);
  await shot(all, '12-alice-all-namespaces');
});

test('without backupview: the list says it is not installed', async () => {
  const saved = kubectl('get', 'apiservice', 'v1alpha1.ui.kubestash.com', '-o', 'json');
  kubectl('delete', 'apiservice', 'v1alpha1.ui.kubestash.com');
  try {
    // kube-apiserver stops serving the group within moments.
    for (let i = 0; i < 50 && (await kube(ADMIN, `${API}/backupconfigurationviews`)).status !== 404; i++) await new Promise(r => setTimeout(r, 200));
    const page = await newPage(base + LIST);
    await page.getByTestId('bv-problem').waitFor();
    assert.match(await page.getByTestId('bv-problem').innerText(), /backupview is not installed/);
    await shot(page, '13-not-installed');
  } finally {
    const o = JSON.parse(saved);
    delete o.metadata.resourceVersion;
    delete o.metadata.uid;
    delete o.metadata.creationTimestamp;
    delete o.status;
    execFileSync(KUBECTL, ['--kubeconfig', ADMIN, 'create', '-f', '-'], { input: JSON.stringify(o) });
  }
});
