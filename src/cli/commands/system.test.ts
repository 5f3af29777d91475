// `berth system df`: docker's DiskUsageContext (docker CLI 28) over a /system/df reply: the
// summary arithmetic (ACTIVE, RECLAIMABLE and its truncated percentage), the -v tables, build
// cache order, Go time strings, --format (json, raw, table, templates) and template errors.
// The expected texts are what docker 28.2.2 prints for the same reply (times aside: docker
// measures against the real clock, these tests against a fixed one).
process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandArgs } from '../args.ts';
import { StatusError } from '../context.ts';
import { SYSTEM_COMMANDS, GROUPS } from '../spec.ts';
import { renderDiskUsage, reclaimableText, diskUsageSummary, parseApiTime, type DiskUsage } from './system.ts';

const NOW = Date.UTC(2023, 10, 15, 2, 0, 0);
const id = (c: string) => c.repeat(64);

const image = (c: string, RepoTags: string[], Created: number, Size: number, SharedSize: number, Containers: number, RepoDigests: string[] = []) =>
  ({ Id: `sha256:${id(c)}`, ParentId: '', RepoTags, RepoDigests, Created, Size, SharedSize, Labels: null, Containers });
const container = (c: string, name: string, Image: string, Command: string, Created: number, SizeRw: number, State: string, Status: string, mounts: object[] = []) =>
  ({ Id: id(c), Names: [`/${name}`], Image, ImageID: '', Command, Created, Ports: [], SizeRw, SizeRootFs: SizeRw + 1_000_000, Labels: {}, State, Status, Mounts: mounts });

const DU: DiskUsage = {
  LayersSize: 123_456_789,
  Images: [
    image('1', ['busybox:latest', 'busybox:1.36'], 1_700_000_000, 4_261_550, 4_261_550, 2),
    image('2', ['registry.example.com:5000/team/app:v1'], 1_700_003_600, 104_857_600, 4_261_550, 1),
    image('3', [], 1_700_007_200, 15_000_000, -1, -1),
    image('4', ['<none>:<none>'], 1_700_010_800, 999_999, 0, 0, ['<none>@<none>']),
  ],
  Containers: [
    container('a', 'web', 'registry.example.com:5000/team/app:v1', "sh -c 'while true; do echo hello; sleep 1; done'", 1_700_010_000, 12_345, 'running', 'Up 2 hours',
      [{ Type: 'volume', Name: 'data', Driver: 'local', Source: '/v', Destination: '/d' }]),
    container('b', 'old', 'busybox', 'true', 1_700_000_500, 3_000_000, 'exited', 'Exited (0) 3 hours ago'),
    container('c', 'paused', 'busybox', 'sleep 1000', 1_700_000_600, 1000, 'paused', 'Up 3 hours (Paused)'),
  ],
  Volumes: [
    { Name: 'data', Driver: 'local', Mountpoint: '/var/lib/docker/volumes/data/_data', Labels: { x: 'y' }, Scope: 'local', UsageData: { Size: 2_048_000, RefCount: 1 } },
    { Name: 'cache', Driver: 'local', Mountpoint: '/var/lib/docker/volumes/cache/_data', Labels: null, Scope: 'local', UsageData: { Size: 1024, RefCount: 0 } },
    { Name: 'remote', Driver: 'nfs', Mountpoint: '', Labels: null, Scope: 'global', UsageData: { Size: -1, RefCount: 0 } },
  ],
  BuildCache: [
    { ID: 'zzzzcacheidlastused00001', Parent: '', Parents: ['pppparent0000000000001'], Type: 'regular', Description: '/bin/sh -c echo b', InUse: false, Shared: false, Size: 5000, CreatedAt: '2023-11-14T22:00:00.5Z', LastUsedAt: '2023-11-14T23:00:00.25Z', UsageCount: 3 },
    { ID: 'aaaacacheidnever0000001', Parent: 'pppparent0000000000003', Type: 'source.local', Description: 'local source for context', InUse: true, Shared: false, Size: 7000, CreatedAt: '2023-11-14T22:00:00Z', LastUsedAt: null, UsageCount: 0 },
    { ID: 'mmmmcacheidshared000001', Parent: '', Type: 'regular', Description: '/bin/sh -c echo <a> & b', InUse: false, Shared: true, Size: 3_000_000, CreatedAt: '2023-11-14T22:00:00+02:00', LastUsedAt: '2023-11-14T23:00:00.25Z', UsageCount: 1 },
    { ID: 'bbbbcacheidinuse0000001', Parent: '', Type: 'regular', Description: '/bin/sh -c echo c', InUse: true, Shared: false, Size: 1500, CreatedAt: '2023-11-14T22:00:00Z', LastUsedAt: '2023-11-14T22:30:00Z', UsageCount: 1 },
  ],
};

const text = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
const df = (o: { verbose?: boolean; format?: string } = {}, du: DiskUsage = DU) => renderDiskUsage(du, o, NOW);

test('spec: system df takes no arguments, -v/--verbose and --format', () => {
  const spec = SYSTEM_COMMANDS.df;
  assert.equal(GROUPS.system.commands.df, spec);
  assert.equal(spec.max, 0);
  const p = parseCommandArgs(spec, ['-v', '--format', '{{json .}}']);
  assert.equal(p.opts.verbose, true);
  assert.equal(p.opts.format, '{{json .}}');
});

test('reclaimableText: go-units HumanSize and a truncated integer percentage', () => {
  assert.equal(reclaimableText(0, 0), '0B');
  assert.equal(reclaimableText(500, 1000), '500B (50%)');
  assert.equal(reclaimableText(1, 3), '1B (33%)');
  assert.equal(reclaimableText(2, 3), '2B (66%)');
  assert.equal(reclaimableText(1024, 2_049_024), '1.024kB (0%)');
  assert.equal(reclaimableText(-5, 1000), '-5B (0%)');
  assert.equal(reclaimableText(123_456_789, 123_456_789), '123.5MB (100%)');
  // int64 arithmetic past 2^53.
  assert.equal(reclaimableText(90_071_992_547_409_930, 90_071_992_547_409_930), '90.07PB (100%)');
});

test('summary: docker\'s table, ACTIVE and RECLAIMABLE rules for every type', () => {
  assert.equal(df(), text([
    "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE",
    "Images          4         2         123.5MB   22.86MB (18%)",
    "Containers      3         2         3.013MB   3MB (99%)",
    "Local Volumes   3         1         2.049MB   1.024kB (0%)",
    "Build Cache     4         2         13.5kB    5kB",
  ]));
  // Same for the default given as "table" or an empty --format.
  assert.equal(df({ format: 'table' }), df());
  assert.equal(df({ format: '' }), df());
});

test('summary: an empty engine, and a reply with missing lists', () => {
  const empty = text([
    'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE',
    'Images          0         0         0B        0B',
    'Containers      0         0         0B        0B',
    'Local Volumes   0         0         0B        0B',
    'Build Cache     0         0         0B        0B',
  ]);
  assert.equal(df({}, { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] }), empty);
  assert.equal(df({}, {}), empty);
  assert.equal(df({}, { Images: null, Containers: null, Volumes: null, BuildCache: null }), empty);
});

test('summary: images with containers keep their unique size; -1 sizes and N/A counts as docker treats them', () => {
  const rows = diskUsageSummary({
    LayersSize: 1000,
    Images: [
      image('1', ['a:1'], 0, 600, 100, 1), // 500 used
      image('2', ['b:1'], 0, 300, -1, 3), // unknown shared size: skipped
      image('3', ['c:1'], 0, 200, 50, -1), // -1 containers is "not 0": 150 used, yet not active
      image('4', ['d:1'], 0, 100, 0, 0),
    ],
  });
  assert.deepEqual({ ...rows[0] }, { Active: '2', Reclaimable: '350B (35%)', Size: '1kB', TotalCount: '4', Type: 'Images' });
});

test('summary: --format json, {{json .}}, raw, custom tables and templates', () => {
  const json = text([
    '{"Active":"2","Reclaimable":"22.86MB (18%)","Size":"123.5MB","TotalCount":"4","Type":"Images"}',
    '{"Active":"2","Reclaimable":"3MB (99%)","Size":"3.013MB","TotalCount":"3","Type":"Containers"}',
    '{"Active":"1","Reclaimable":"1.024kB (0%)","Size":"2.049MB","TotalCount":"3","Type":"Local Volumes"}',
    '{"Active":"2","Reclaimable":"5kB","Size":"13.5kB","TotalCount":"4","Type":"Build Cache"}',
  ]);
  assert.equal(df({ format: 'json' }), json);
  assert.equal(df({ format: '{{json .}}' }), json);
  assert.equal(df({ format: 'raw' }).split('\n\n')[0], 'type: Images\ntotal: 4\nactive: 2\nsize: 123.5MB\nreclaimable: 22.86MB (18%)');
  assert.equal(df({ format: 'raw' }).split('\n\n').length, 5);
  assert.equal(df({ format: '{{.Type}}: {{.Size}}' }), 'Images: 123.5MB\nContainers: 3.013MB\nLocal Volumes: 2.049MB\nBuild Cache: 13.5kB\n');
  assert.equal(df({ format: 'table {{.Type}}\\t{{.Reclaimable}}' }), text([
    'TYPE            RECLAIMABLE',
    'Images          22.86MB (18%)',
    'Containers      3MB (99%)',
    'Local Volumes   1.024kB (0%)',
    'Build Cache     5kB',
  ]));
  // The header pass shows titles as they are; a field the header does not know prints <no value>.
  assert.equal(df({ format: 'table {{upper .Type}}\t{{json .Active}}\t{{.TotalCount | printf "%s!"}}' }).split('\n')[0], 'TYPE            ACTIVE    TOTAL!');
  assert.equal(df({ format: '{{.Type}}\\t{{.Active}}\\n' }), 'Images\t2\n\nContainers\t2\n\nLocal Volumes\t1\n\nBuild Cache\t2\n\n');
});

test('template errors: docker\'s "template parsing error" wrapping, exit 1', () => {
  const fails = (o: { verbose?: boolean; format: string }, message: string) => {
    assert.throws(() => df(o), (e: unknown) => {
      assert.ok(e instanceof StatusError);
      assert.equal(e.status, 1);
      assert.equal(e.message, message);
      return true;
    });
  };
  fails({ format: '{{.Foo}}' }, 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.diskUsageImagesContext');
  fails({ format: 'table {{.Type}}\t{{.Foo}}' }, 'template parsing error: template: :1:12: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.diskUsageImagesContext');
  fails({ format: '{{foo .}}' }, 'template parsing error: template: :1: function "foo" not defined');
  fails({ verbose: true, format: '{{.Foo' }, 'template parsing error: template: :1: unclosed action');
  // -v with a template: the execution error is not wrapped.
  fails({ verbose: true, format: '{{.Foo}}' }, 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.diskUsageContext');
});

test('-v: the four sections, first tags only, build cache least recently used first', () => {
  assert.equal(df({ verbose: true }), text([
    "Images space usage:",
    "",
    "REPOSITORY                           TAG       IMAGE ID       CREATED          SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS",
    "busybox                              latest    111111111111   4 hours ago      4.26MB    4.262MB       0B            2",
    "registry.example.com:5000/team/app   v1        222222222222   3 hours ago      105MB     4.262MB       100.6MB       1",
    "<none>                               <none>    333333333333   2 hours ago      15MB      N/A           N/A           N/A",
    "<none>                               <none>    444444444444   46 minutes ago   1e+03kB   0B            1000kB        0",
    "",
    "Containers space usage:",
    "",
    "CONTAINER ID   IMAGE                                   COMMAND                  LOCAL VOLUMES   SIZE      CREATED             STATUS                   NAMES",
    "aaaaaaaaaaaa   registry.example.com:5000/team/app:v1   \"sh -c 'while true; …\"   1               12.3kB    About an hour ago   Up 2 hours               web",
    "bbbbbbbbbbbb   busybox                                 \"true\"                   0               3MB       4 hours ago         Exited (0) 3 hours ago   old",
    "cccccccccccc   busybox                                 \"sleep 1000\"             0               1kB       4 hours ago         Up 3 hours (Paused)      paused",
    "",
    "Local Volumes space usage:",
    "",
    "VOLUME NAME   LINKS     SIZE",
    "data          1         2.048MB",
    "cache         0         1.024kB",
    "remote        0         -1B",
    "",
    "Build cache usage: 13.5kB",
    "",
    "CACHE ID        CACHE TYPE     SIZE      CREATED       LAST USED     USAGE     SHARED",
    "aaaacacheidn*   source.local   7kB       4 hours ago                 0         false",
    "bbbbcacheidi*   regular        1.5kB     4 hours ago   4 hours ago   1         false",
    "mmmmcacheids    regular        3MB       6 hours ago   3 hours ago   1         true",
    "zzzzcacheidl    regular        5kB       4 hours ago   3 hours ago   3         false",
  ]));
  assert.equal(df({ verbose: true, format: 'table' }), df({ verbose: true }));
});

test('-v: empty sections keep their headers', () => {
  assert.equal(df({ verbose: true }, {}), text([
    'Images space usage:',
    '',
    'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS',
    '',
    'Containers space usage:',
    '',
    'CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES',
    '',
    'Local Volumes space usage:',
    '',
    'VOLUME NAME   LINKS     SIZE',
    '',
    'Build cache usage: 0B',
    '',
    'CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED',
  ]));
});

test('-v with a template: one execution over the whole context, untruncated, no newline added', () => {
  const j = JSON.parse(df({ verbose: true, format: '{{json .}}' }));
  assert.deepEqual(Object.keys(j), ['Images', 'Containers', 'Volumes', 'BuildCache']);
  assert.deepEqual(j.Images[0], {
    Containers: '2', CreatedAt: '2023-11-14 22:13:20 +0000 UTC', CreatedSince: '4 hours ago', Digest: '',
    ID: `sha256:${id('1')}`, Repository: 'busybox', SharedSize: '4.262MB', Size: '4.26MB', Tag: 'latest', UniqueSize: '0B', VirtualSize: '4.262MB',
  });
  assert.deepEqual(j.Volumes[0], {
    Availability: 'N/A', Driver: 'local', Group: 'N/A', Labels: 'x=y', Links: '1', Mountpoint: '/var/lib/docker/volumes/data/_data',
    Name: 'data', Scope: 'local', Size: '2.048MB', Status: 'N/A',
  });
  assert.deepEqual(j.BuildCache.map((b: { ID: string }) => b.ID), ['aaaacacheidnever0000001*', 'bbbbcacheidinuse0000001*', 'mmmmcacheidshared000001', 'zzzzcacheidlastused00001']);
  assert.deepEqual(j.BuildCache[3], {
    CacheType: 'regular', CreatedAt: '2023-11-14 22:00:00.5 +0000 UTC', CreatedSince: '4 hours ago', Description: '/bin/sh -c echo b',
    ID: 'zzzzcacheidlastused00001', InUse: 'false', LastUsedAt: '2023-11-14 23:00:00.25 +0000 UTC', LastUsedSince: '3 hours ago',
    Parent: '', Shared: 'false', Size: '5kB', UsageCount: '3',
  });
  // Go's json.Marshal escapes <, > and & inside the rows.
  assert.match(df({ verbose: true, format: 'json' }), /"Description":"\/bin\/sh -c echo \\u003ca\\u003e \\u0026 b"/);
  assert.ok(!df({ verbose: true, format: 'json' }).endsWith('\n'));
  assert.equal(df({ verbose: true, format: '{{range .Images}}{{.Repository}}:{{.Tag}} {{end}}' }), 'busybox:latest registry.example.com:5000/team/app:v1 <none>:<none> <none>:<none> ');
  // A "table …" template is still one execution, but with truncated IDs.
  assert.equal(df({ verbose: true, format: 'table {{range .BuildCache}}{{.ID}} {{end}}' }), 'aaaacacheidn* bbbbcacheidi* mmmmcacheids zzzzcacheidl ');
  assert.equal(df({ verbose: true, format: '{{range .Volumes}}{{.Name}}={{.Label "x"}} {{end}}' }), 'data=y cache= remote= ');
});

test('-v raw: docker\'s raw formats, empty padded fields stay empty', () => {
  const raw = df({ verbose: true, format: 'raw' });
  const web = raw.split('\n\n').find((b) => b.includes('names: web'))!;
  assert.equal(web, [
    'type: Container',
    `container_id: ${id('a')}`,
    'image: registry.example.com:5000/team/app:v1',
    'command: "sh -c \'while true; do echo hello; sleep 1; done\'"',
    'created_at: 2023-11-15 01:00:00 +0000 UTC',
    'state: running',
    'status: Up 2 hours',
    'names: web',
    'labels:',
    'ports:',
    'size: 12.3kB',
  ].join('\n'));
  assert.ok(raw.startsWith(`type: Image\nrepository: busybox\ntag: latest\ndigest: \nimage_id: sha256:${id('1')}\ncreated_at: 2023-11-14 22:13:20 +0000 UTC\nvirtual_size: 4.26MB\n\ntype: Image\n`));
  assert.ok(raw.includes('type: Volume\nname: remote\ndriver: nfs\n\ntype: Build Cache\nbuild_cache_id: aaaacacheidnever0000001*\nparent_id: pppparent0000000000003\n'));
  assert.ok(raw.endsWith('usage_count: 3\nin_use: false\nshared: false\n\n'));
});

test('parseApiTime: Go\'s time.Time.String() of an RFC 3339 time, and its nanoseconds', () => {
  assert.deepEqual(parseApiTime('2023-11-14T22:00:00Z'), { nanos: 1_699_999_200_000_000_000n, text: '2023-11-14 22:00:00 +0000 UTC' });
  assert.equal(parseApiTime('2023-11-14T22:00:00.120000000Z')!.text, '2023-11-14 22:00:00.12 +0000 UTC');
  assert.equal(parseApiTime('2023-11-14T22:00:00.123456789Z')!.nanos, 1_699_999_200_123_456_789n);
  // An offset other than the local zone's is a nameless fixed zone.
  assert.equal(parseApiTime('2023-11-14T22:00:00+02:00')!.text, '2023-11-14 22:00:00 +0200 +0200');
  assert.equal(parseApiTime('2023-11-14T22:00:00+02:00')!.nanos, 1_699_992_000_000_000_000n);
  assert.equal(parseApiTime('2023-11-14T22:00:00-05:30')!.text, '2023-11-14 22:00:00 -0530 -0530');
  // One matching the local zone (UTC here) takes its name.
  assert.equal(parseApiTime('2023-11-14T22:00:00+00:00')!.text, '2023-11-14 22:00:00 +0000 UTC');
  assert.equal(parseApiTime('0001-01-01T00:00:00Z')!.text, '0001-01-01 00:00:00 +0000 UTC');
  assert.equal(parseApiTime('yesterday'), undefined);
  assert.equal(parseApiTime(null), undefined);
});
