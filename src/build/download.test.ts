import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filenameForDownload } from './download.ts';

test('ADD <url> file names follow Docker: the URL path, else Content-Disposition, else none', () => {
  assert.equal(filenameForDownload('/a/b.tar.gz', null), 'b.tar.gz');
  assert.equal(filenameForDownload('/a/b.tar.gz', 'attachment; filename="other"'), 'b.tar.gz');
  assert.equal(filenameForDownload('/dir/', 'attachment; filename="x/y.bin"'), 'y.bin');
  assert.equal(filenameForDownload('/', 'attachment; filename=plain.txt'), 'plain.txt');
  assert.equal(filenameForDownload('/', 'attachment; filename="q\\"uote.txt"'), 'q"uote.txt');
  assert.equal(filenameForDownload('/', "attachment; filename=\"fallback\"; filename*=UTF-8''na%C3%AFve.txt"), 'naïve.txt');
  assert.equal(filenameForDownload('/', 'attachment; filename="dir/"'), '');
  assert.equal(filenameForDownload('/', 'inline'), '');
  assert.equal(filenameForDownload('', null), '');
  assert.equal(filenameForDownload('/dir/', null), '');
});
