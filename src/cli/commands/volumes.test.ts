// `berth volume`: option parsing, ordering, list rows and formats, inspect's JSON, prune's
// filters, prompt and report (the daemon side is covered by test/compat/berth-volume.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { parseCommandArgs } from '../args.ts';
import { GROUPS } from '../spec.ts';
import { StatusError } from '../context.ts';
import { parseTemplate } from '../format/template.ts';
import {
  parseDriverOpts, parseLabels, createBody, naturalLess, sortVolumes, volumeRow, volumeFormat, renderVolumes,
  goVolumeJson, inspectJson, templateVolume, pruneFilters, pruneOutput, confirm, PRUNE_WARNING, type Volume,
} from './volumes.ts';

const vol = (name: string, extra: Partial<Volume> = {}): Volume => ({
  CreatedAt: '2026-11-23T00:00:00Z', Driver: 'local', Labels: null, Mountpoint: `/var/lib/berth/volumes/${name}/_data`,
  Name: name, Options: null, Scope: 'local', ...extra,
});

test('spec: the volume group, its aliases and flags', () => {
  const g = GROUPS.volume;
  assert.equal(g.desc, 'Manage volumes');
  assert.deepEqual(Object.keys(g.commands).sort(), ['create', 'inspect', 'ls', 'prune', 'rm']);
  assert.equal(g.aliases.list, 'ls');
  assert.equal(g.aliases.remove, 'rm');
  const c = parseCommandArgs(g.commands.create, ['-d', 'local', '-o', 'type=tmpfs', '--opt=device=tmpfs', '--label', 'a=1', '--label', 'b', 'v1']);
  assert.deepEqual(c.args, ['v1']);
  assert.deepEqual(c.opts.opt, ['type=tmpfs', 'device=tmpfs']);
  assert.deepEqual(c.opts.label, ['a=1', 'b']);
  assert.equal(parseCommandArgs(g.commands.create, ['--name', 'x']).opts.name, 'x');
  const l = parseCommandArgs(g.commands.ls, ['-q', '-f', 'dangling=true', '--filter', 'label=a', '--format', 'json']);
  assert.deepEqual([l.opts.quiet, l.opts.filter, l.opts.format], [true, ['dangling=true', 'label=a'], 'json']);
  const p = parseCommandArgs(g.commands.prune, ['-af', '--filter', 'label=x']);
  assert.deepEqual([p.opts.all, p.opts.force, p.opts.filter], [true, true, ['label=x']]);
  assert.equal(parseCommandArgs(g.commands.rm, ['-f', 'a', 'b']).opts.force, true);
  assert.equal(parseCommandArgs(g.commands.inspect, ['-f', '{{.Name}}', 'a']).opts.format, '{{.Name}}');
});

test('create: -o is docker\'s MapOpts, --label its ValidateLabel, the body omits empty fields', () => {
  assert.deepEqual(parseDriverOpts(['type=tmpfs', 'o=size=10m,uid=1000', 'flag', 'type=none']), { type: 'none', o: 'size=10m,uid=1000', flag: '' });
  assert.deepEqual(parseDriverOpts(undefined), {});
  assert.deepEqual(parseLabels(['a=1', 'b', 'c=x=y', 'a=2']), { labels: { a: '2', b: '', c: 'x=y' } });
  assert.deepEqual(parseLabels(['=v']), { bad: '=v', reason: "invalid label '=v': empty name" });
  assert.deepEqual(parseLabels([' =v']), { bad: ' =v', reason: "invalid label ' =v': empty name" });
  assert.deepEqual(parseLabels(['a b=v']), { bad: 'a b=v', reason: "label 'a b' contains whitespaces" });
  assert.deepEqual(createBody(undefined, {}, {}), { Driver: 'local' });
  assert.deepEqual(createBody('v1', { driver: 'local', opt: ['type=tmpfs'] }, { a: '1' }), { Driver: 'local', DriverOpts: { type: 'tmpfs' }, Labels: { a: '1' }, Name: 'v1' });
  assert.deepEqual(createBody('', { driver: '' }, {}), {});
});

test('ls: natural name order, as docker sorts', () => {
  assert.equal(naturalLess('abc2', 'abc12'), true);
  assert.equal(naturalLess('abc12', 'abc2'), false);
  assert.equal(naturalLess('2', '02'), true);
  assert.equal(naturalLess('a', 'a1'), true);
  assert.equal(naturalLess('1a', 'a'), true, 'digits before other bytes');
  assert.equal(naturalLess('B', 'a'), true, 'bytewise otherwise');
  assert.equal(naturalLess('x', 'x'), false);
  const names = sortVolumes(['v10', 'v2', 'data', 'v1', '9f3c', 'V3', 'v02'].map((n) => vol(n))).map((v) => v.Name);
  assert.deepEqual(names, ['9f3c', 'V3', 'data', 'v1', 'v2', 'v02', 'v10']);
});

test('ls: rows carry docker\'s volumeContext fields; N/A without usage or cluster data', () => {
  const r = volumeRow(vol('v1', { Labels: { b: '2', a: '1' }, UsageData: { Size: 1_536_000, RefCount: 2 } }));
  assert.deepEqual({ ...r }, {
    Availability: 'N/A', Driver: 'local', Group: 'N/A', Labels: 'a=1,b=2', Links: '2', Mountpoint: '/var/lib/berth/volumes/v1/_data',
    Name: 'v1', Scope: 'local', Size: '1.536MB', Status: 'N/A',
  });
  const plain = volumeRow(vol('v2', { UsageData: null }));
  assert.deepEqual([plain.Labels, plain.Links, plain.Size], ['', 'N/A', 'N/A']);
  assert.equal(parseTemplate('{{.Label "a"}}|{{.Label "zz"}}').execute(r), '1|');
  assert.equal(parseTemplate('{{json .}}').execute(plain),
    '{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"N/A","Mountpoint":"/var/lib/berth/volumes/v2/_data","Name":"v2","Scope":"local","Size":"N/A","Status":"N/A"}');
});

test('ls: formats (default table, -q, json, custom table with Label headers, raw)', () => {
  const vols = [vol('web-data', { Labels: { 'com.example.tier': 'db' } }), vol('a')];
  assert.equal(renderVolumes(vols, undefined, false), 'DRIVER    VOLUME NAME\nlocal     a\nlocal     web-data\n');
  assert.equal(renderVolumes([], undefined, false), 'DRIVER    VOLUME NAME\n');
  assert.equal(renderVolumes(vols, 'table', false), 'DRIVER    VOLUME NAME\nlocal     a\nlocal     web-data\n');
  assert.equal(renderVolumes(vols, undefined, true), 'a\nweb-data\n');
  assert.equal(renderVolumes(vols, 'table', true), 'a\nweb-data\n');
  assert.equal(renderVolumes(vols, '{{.Driver}}', true), 'local\nlocal\n', 'a custom format wins over -q');
  assert.equal(renderVolumes([vol('a')], 'json', false).split('\n').length, 2);
  assert.equal(renderVolumes(vols, 'table {{.Name}}\\t{{.Label "com.example.tier"}}\\t{{.Label "my_key-x"}}', false),
    'VOLUME NAME   tier      my key x\na                       \nweb-data      db        \n');
  assert.equal(renderVolumes([vol('a')], 'table {{.Mountpoint}}\t{{.Scope}}\t{{.Size}}\t{{.Links}}\t{{.Labels}}', false),
    'MOUNTPOINT                       SCOPE     SIZE      LINKS     LABELS\n/var/lib/berth/volumes/a/_data   local     N/A       N/A       \n');
  assert.equal(renderVolumes([vol('a')], 'raw', false), 'name: a\ndriver: local\n\n');
  assert.equal(renderVolumes([vol('a')], 'raw', true), 'name: a\n');
  assert.equal(volumeFormat('', false), 'table {{.Driver}}\t{{.Name}}');
  assert.throws(() => renderVolumes([vol('a')], '{{.Nope}}', false), /can't evaluate field Nope in type \*formatter.volumeContext/);
  assert.equal(renderVolumes([], '{{.Nope}}', false), '', 'no row, no execution (docker runs no probe for volumes)');
});

test('inspect: docker\'s volume.Volume re-marshalled (field order, omitempty, sorted maps, <>& escaped)', () => {
  const fromDaemon = {
    Name: 'v1', Scope: 'local', Options: { type: 'tmpfs', device: 'tmpfs' }, Mountpoint: '/m/v1/_data', Labels: { z: '<&>', a: '1' },
    Driver: 'local', CreatedAt: '2026-11-23T00:00:00Z', Status: {}, Extra: 'dropped',
  } as unknown as Volume;
  assert.deepEqual(Object.keys(goVolumeJson(fromDaemon)), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
  assert.equal(inspectJson([fromDaemon]), [
    '[',
    '    {',
    '        "CreatedAt": "2026-11-23T00:00:00Z",',
    '        "Driver": "local",',
    '        "Labels": {',
    '            "a": "1",',
    '            "z": "\\u003c\\u0026\\u003e"',
    '        },',
    '        "Mountpoint": "/m/v1/_data",',
    '        "Name": "v1",',
    '        "Options": {',
    '            "device": "tmpfs",',
    '            "type": "tmpfs"',
    '        },',
    '        "Scope": "local"',
    '    }',
    ']',
    '',
  ].join('\n'));
  assert.equal(inspectJson([]), '[]\n');
  const usage = vol('u', { CreatedAt: undefined, UsageData: { Size: 5, RefCount: 1 } });
  assert.equal(inspectJson([usage], true),
    '[{"Driver":"local","Labels":null,"Mountpoint":"/var/lib/berth/volumes/u/_data","Name":"u","Options":null,"Scope":"local","UsageData":{"RefCount":1,"Size":5}}]\n');
});

test('inspect -f: the typed struct (nil maps print map[], json unescaped and omitempty)', () => {
  const t = parseTemplate('{{.Name}} {{.Labels}} {{.Options}} {{.Status}} {{.UsageData}} [{{.CreatedAt}}]', {
    nullText: (f) => (f === 'Labels' || f === 'Options' || f === 'Status' ? 'map[]' : '<nil>'),
  });
  assert.equal(t.execute(templateVolume(vol('v', { CreatedAt: undefined }))), 'v map[] map[] map[] <nil> []');
  assert.equal(parseTemplate('{{json .}}').execute(templateVolume(vol('v', { Labels: { k: '<x>' } }))),
    '{"CreatedAt":"2026-11-23T00:00:00Z","Driver":"local","Labels":{"k":"<x>"},"Mountpoint":"/var/lib/berth/volumes/v/_data","Name":"v","Options":null,"Scope":"local"}');
  assert.throws(() => parseTemplate('{{.Nope}}', { rootType: 'volume.Volume' }).execute(templateVolume(vol('v'))), /can't evaluate field Nope in type volume.Volume/);
});

test('prune: filters (-a adds all=true, conflicts with an all filter) and the report', () => {
  assert.deepEqual(pruneFilters(undefined, false), []);
  assert.deepEqual(pruneFilters(['label=a'], true), ['label=a', 'all=true']);
  assert.deepEqual(pruneFilters(['all=1'], false), ['all=1']);
  assert.throws(() => pruneFilters(['ALL=0'], true), (e: unknown) => e instanceof StatusError && e.status === 1 && e.message === 'conflicting options: cannot specify both --all and --filter all=1');
  assert.equal(pruneOutput({ VolumesDeleted: ['a', 'b'], SpaceReclaimed: 1_536_000 }), 'Deleted Volumes:\na\nb\n\nTotal reclaimed space: 1.536MB\n');
  assert.equal(pruneOutput({ VolumesDeleted: null, SpaceReclaimed: 99 }), 'Total reclaimed space: 0B\n', 'space counts only with deletions');
  assert.equal(pruneOutput(undefined), 'Total reclaimed space: 0B\n');
});

test('prune: the prompt accepts only y/Y (trimmed), as docker 28 does', async () => {
  const ask = async (input: string | null) => {
    const inp = new PassThrough();
    let shown = '';
    const out = new Writable({ write(c, _e, cb) { shown += c.toString(); cb(); } });
    const p = confirm(PRUNE_WARNING, inp, out);
    if (input === null) inp.end(); else inp.write(input);
    return { ok: await p, shown };
  };
  const y = await ask(' Y \n');
  assert.equal(y.ok, true);
  assert.equal(y.shown, 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
  assert.equal((await ask('y\r\n')).ok, true);
  assert.equal((await ask('yes\n')).ok, false);
  assert.equal((await ask('n\n')).ok, false);
  assert.equal((await ask('\n')).ok, false);
  assert.equal((await ask(null)).ok, false, 'end of input declines');
});
