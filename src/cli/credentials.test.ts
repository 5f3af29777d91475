// The CLI's credential store: docker's config.json format, and credential helpers
// (docker-credential-<name> get/store/erase), here a small helper program written by the test.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  INDEX_SERVER, encodeAuthHeader, eraseAuth, getAuth, loadConfig, loggedIn, logoutKeys, registryOf, saveConfig, serverKey, storeAuth,
} from './credentials.ts';

let dir: string;
let cfgDir: string;
let store: string;
const saved = { BERTH_CONFIG: process.env.BERTH_CONFIG, PATH: process.env.PATH, FAKE_STORE: process.env.FAKE_STORE };

// A helper that speaks docker-credential-helpers' protocol, keeping secrets in $FAKE_STORE.
const HELPER = `#!${process.execPath}
const fs = require('node:fs');
const file = process.env.FAKE_STORE;
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
const input = fs.readFileSync(0, 'utf8');
const verb = process.argv[2];
fs.appendFileSync(file + '.log', verb + ' ' + (verb === 'store' ? JSON.parse(input).ServerURL : input.trim()) + '\\n');
if (verb === 'store') { const j = JSON.parse(input); if (j.Username === 'refuse') { process.stdout.write('store refused'); process.exit(1); } db[j.ServerURL] = j; }
else if (verb === 'get' || verb === 'erase') {
  const k = input.trim();
  if (!db[k]) { process.stdout.write('credentials not found in native keychain'); process.exit(1); }
  if (verb === 'get') { process.stdout.write(JSON.stringify(db[k])); process.exit(0); }
  delete db[k];
}
fs.writeFileSync(file, JSON.stringify(db));
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-creds-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const name of ['docker-credential-fake', 'docker-credential-other']) {
    writeFileSync(join(bin, name), HELPER);
    chmodSync(join(bin, name), 0o755);
  }
  process.env.PATH = `${bin}:${saved.PATH}`;
});
after(() => {
  for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
beforeEach(() => {
  cfgDir = join(dir, `cfg${++n}`);
  store = join(dir, `store${n}.json`);
  process.env.BERTH_CONFIG = cfgDir;
  process.env.FAKE_STORE = store;
});

const cfgFile = () => join(cfgDir, 'config.json');
const helperLog = () => (existsSync(`${store}.log`) ? readFileSync(`${store}.log`, 'utf8').trim().split('\n') : []);

test('registry keys are docker\'s: Hub is the v1 index URL, others host[:port]', () => {
  for (const r of [undefined, 'docker.io', 'index.docker.io', 'registry-1.docker.io', INDEX_SERVER]) assert.equal(serverKey(r), INDEX_SERVER);
  assert.equal(serverKey('https://127.0.0.1:5000/'), '127.0.0.1:5000');
  assert.equal(registryOf('busybox'), INDEX_SERVER);
  assert.equal(registryOf('library/busybox:1'), INDEX_SERVER);
  assert.equal(registryOf('localhost/x'), 'localhost');
  assert.equal(registryOf('localhost:5000/x/y:1'), 'localhost:5000');
  assert.equal(registryOf('reg.example/x@sha256:00'), 'reg.example');
  assert.deepEqual(logoutKeys(INDEX_SERVER), [INDEX_SERVER]);
  assert.deepEqual(logoutKeys('127.0.0.1:5000'), ['127.0.0.1:5000', 'http://127.0.0.1:5000', 'https://127.0.0.1:5000']);
});

test('X-Registry-Auth is base64url (with padding) of the AuthConfig JSON, as the docker CLI sends it', () => {
  const a = { username: 'u?>', password: 'p~~~', serveraddress: 'h:1' };
  const h = encodeAuthHeader(a);
  assert.doesNotMatch(h, /[+/]/);
  assert.deepEqual(JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString()), a);
  assert.equal(encodeAuthHeader({}), Buffer.from('{}').toString('base64'));
});

test('file store: base64 user:password, identity tokens, mode 0600, atomic, erase', () => {
  assert.deepEqual(loadConfig(), {});
  assert.deepEqual(getAuth('h:1'), { serveraddress: 'h:1' });
  saveConfig({ detachKeys: 'ctrl-x,x', somethingElse: { kept: true } });
  assert.equal(storeAuth('h:1', { username: 'alice', password: 'pa:ss', serveraddress: 'h:1' }), 'file');
  const raw = JSON.parse(readFileSync(cfgFile(), 'utf8'));
  assert.deepEqual(raw, { detachKeys: 'ctrl-x,x', somethingElse: { kept: true }, auths: { 'h:1': { auth: Buffer.from('alice:pa:ss').toString('base64') } } });
  assert.equal(statSync(cfgFile()).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(cfgDir), ['config.json'], 'no temp file is left');
  assert.deepEqual(getAuth('h:1'), { serveraddress: 'h:1', username: 'alice', password: 'pa:ss' });
  assert.equal(loggedIn(logoutKeys('h:1')), true);

  storeAuth('h:2', { username: 'bob', identitytoken: 'tok', serveraddress: 'h:2' });
  assert.deepEqual(loadConfig().auths!['h:2'], { auth: Buffer.from('bob:').toString('base64'), identitytoken: 'tok' });
  assert.deepEqual(getAuth('h:2'), { serveraddress: 'h:2', username: 'bob', password: '', identitytoken: 'tok' });

  // An older CLI's `https://` form counts as logged in and is erased with the rest.
  const c = loadConfig();
  c.auths!['https://h:3'] = { auth: Buffer.from('c:d').toString('base64') };
  saveConfig(c);
  assert.equal(loggedIn(logoutKeys('h:3')), true);
  for (const k of logoutKeys('h:3')) assert.equal(eraseAuth(k), undefined);
  assert.equal(loggedIn(logoutKeys('h:3')), false);

  assert.equal(eraseAuth('h:1'), undefined);
  assert.equal(loggedIn(logoutKeys('h:1')), false);
  assert.deepEqual(Object.keys(loadConfig().auths!), ['h:2']);
  assert.equal(loadConfig().detachKeys, 'ctrl-x,x');
});

test('a corrupt config file is a clear error, not a silent reset', () => {
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(cfgFile(), '{"auths": {');
  assert.throws(() => loadConfig(), (e: Error) => e.message.startsWith(`loading config file: ${cfgFile()}: `));
  assert.throws(() => storeAuth('h:1', { username: 'a', password: 'b' }));
  assert.equal(readFileSync(cfgFile(), 'utf8'), '{"auths": {', 'unchanged');
});

test('credsStore: secrets go to the helper, the file keeps an empty entry; get, token, erase', () => {
  saveConfig({ credsStore: 'fake' });
  assert.equal(storeAuth('h:1', { username: 'alice', password: 's3cret', serveraddress: 'h:1' }), 'helper');
  const text = readFileSync(cfgFile(), 'utf8');
  assert.doesNotMatch(text, /s3cret|alice/);
  assert.deepEqual(JSON.parse(text), { credsStore: 'fake', auths: { 'h:1': {} } });
  assert.deepEqual(JSON.parse(readFileSync(store, 'utf8'))['h:1'], { ServerURL: 'h:1', Username: 'alice', Secret: 's3cret' });
  assert.deepEqual(getAuth('h:1'), { serveraddress: 'h:1', username: 'alice', password: 's3cret' });
  // Not in the helper: no credentials (docker's "credentials not found" is not an error).
  assert.deepEqual(getAuth('h:9'), { serveraddress: 'h:9' });

  storeAuth('h:2', { username: 'bob', identitytoken: 'tok', serveraddress: 'h:2' });
  assert.equal(JSON.parse(readFileSync(store, 'utf8'))['h:2'].Username, '<token>');
  assert.deepEqual(getAuth('h:2'), { serveraddress: 'h:2', identitytoken: 'tok' });

  assert.equal(loggedIn(logoutKeys('h:1')), true);
  assert.equal(eraseAuth('h:1'), undefined);
  assert.match(eraseAuth('http://h:1') ?? '', /credentials not found/);
  assert.equal(loggedIn(logoutKeys('h:1')), false);
  assert.equal(JSON.parse(readFileSync(store, 'utf8'))['h:1'], undefined);
  assert.deepEqual(helperLog(), ['store h:1', 'get h:1', 'get h:9', 'store h:2', 'get h:2', 'erase h:1', 'erase http://h:1']);

  // A helper that refuses: docker's error, and the file is unchanged.
  const before = readFileSync(cfgFile(), 'utf8');
  assert.throws(() => storeAuth('h:3', { username: 'refuse', password: 'x' }), (e: Error) => e.message === 'Error saving credentials: error storing credentials - err: exit status 1, out: `store refused`');
  assert.equal(readFileSync(cfgFile(), 'utf8'), before);
});

test('credHelpers pick a helper per registry, over credsStore; a missing helper is docker\'s error', () => {
  saveConfig({ credsStore: 'fake', credHelpers: { 'h:5': 'other', 'h:6': 'missing' } });
  storeAuth('h:5', { username: 'u5', password: 'p5' });
  storeAuth('h:4', { username: 'u4', password: 'p4' });
  assert.deepEqual(helperLog(), ['store h:5', 'store h:4']);
  assert.equal(getAuth('h:5').username, 'u5');
  assert.throws(() => getAuth('h:6'), (e: Error) => e.message === 'error getting credentials - err: exec: "docker-credential-missing": executable file not found in $PATH, out: ``');
  // The file alone, when no helper is configured for the key.
  saveConfig({ auths: { 'h:7': { auth: Buffer.from('x:y').toString('base64') } }, credHelpers: { 'h:5': 'other' } });
  assert.deepEqual(getAuth('h:7'), { serveraddress: 'h:7', username: 'x', password: 'y' });
});
