// `berth volume create|ls|inspect|rm|prune` against a real berthd, with the docker CLI (28.x) as
// the oracle: for the same daemon state both CLIs must print the same text and exit alike
// (docker's name in its own usage messages aside). Skipped where no docker client is installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, hasDocker, type Daemon, type RunOut } from '../integration/harness.ts';

const skip = hasDocker ? false : 'no docker client installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });

const PROMPT = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ';
const PROMPT_ALL = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ';

/** docker's usage messages name docker; everything else must be byte for byte the same.
 *  (docker 28.2's "requires at most N arguments" message ends in a typo, "SRun '… --help'",
 *  which berth's shared argument check does not copy.) */
const asBerth = (s: string) => s.replace(/\bdocker\b/g, 'berth').replace(/^SRun '/m, "Run '");

/** Both CLIs, same arguments and input, read-only state: same status, stdout and stderr. */
function same(args: string[], o: { input?: string } = {}): RunOut {
  const b = d.berth(args, o);
  const k = d.docker(args, o);
  const what = `volume ${args.slice(1).join(' ')}`;
  assert.equal(b.status, k.status, `${what}: exit berth ${b.status} docker ${k.status}\n${b.stderr}\n${k.stderr}`);
  assert.equal(b.stdout, k.stdout, what);
  assert.equal(b.stderr, asBerth(k.stderr), what);
  return b;
}

const ok = (r: RunOut) => { assert.equal(r.status, 0, r.stderr); return r; };

/** A stopped-and-removed container's anonymous volume with `kib` KiB in it: dangling, unnamed. */
function anonymous(kib: number): void {
  ok(d.berth(['run', '--name', 'mk-anon', '-v', '/anon', 'busybox', 'sh', '-c', `head -c ${kib * 1024} /dev/zero > /anon/f`]));
  ok(d.berth(['rm', 'mk-anon']));
}

test('volume create: positional and --name, -d, -o, --label; the name printed; errors and exit codes alike', { skip }, () => {
  // Creating an existing volume returns it, so both CLIs can create the same names.
  for (const cli of [d.berth, d.docker]) {
    assert.equal(ok(cli(['volume', 'create', 'data1'])).stdout, 'data1\n');
    assert.equal(ok(cli(['volume', 'create', '--name', 'data2', '-d', 'local', '--label', 'tier=db'])).stdout, 'data2\n');
    assert.equal(ok(cli(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=8m', '--label', 'com.example.role=cache', 'cache1'])).stdout, 'cache1\n');
  }
  // An unnamed volume: a 64-hex name.
  const anon = ok(d.berth(['volume', 'create'])).stdout.trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  ok(d.berth(['volume', 'rm', anon]));

  same(['volume', 'create', '--name', 'x1', 'x2']);                   // conflicting options, exit 1
  same(['volume', 'create', 'x1', 'x2']);                             // at most 1 argument
  same(['volume', 'create', '--label', '=v', 'x1']);                  // 125, invalid label
  same(['volume', 'create', '--label', 'a b=v', 'x1']);               // 125, whitespace
  same(['volume', 'create', '--nosuchflag']);                         // 125, unknown flag
  same(['volume', 'create', 'no/slash']);                             // the daemon's name check
  same(['volume', 'create', '-d', 'nosuchdriver', 'x3']);             // the daemon's driver check
  same(['volume', 'create', '-o', 'type=ext4', 'x4']);                // missing "device" option
  assert.equal(d.berth(['volume', 'ls', '-q', '-f', 'name=x']).stdout, '', 'nothing created by the failures');

  // The daemon stored what each CLI sent: docker's and berth's volumes inspect alike.
  const insp = same(['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels}} {{.Options}}', 'data2', 'cache1']);
  assert.equal(insp.stdout, 'data2 local map[tier:db] map[]\ncache1 local map[com.example.role:cache] map[device:tmpfs o:size=8m type:tmpfs]\n');
});

test('volume ls: table, -q, --format json/templates/raw, filters, errors', { skip }, () => {
  for (const n of ['v10', 'v2', 'v1', 'web-data']) ok(d.berth(['volume', 'create', '--label', `name=${n}`, n]));
  const table = same(['volume', 'ls']);
  assert.match(table.stdout, /^DRIVER {4}VOLUME NAME\n/);
  // docker's natural order: v1, v2, v10.
  assert.ok(table.stdout.indexOf('local     v2\n') < table.stdout.indexOf('local     v10\n'), table.stdout);
  same(['volume', 'ls', '-q']);
  same(['volume', 'list', '--quiet']);
  same(['volume', 'ls', '--format', 'table']);
  same(['volume', 'ls', '--format', 'json', '-f', 'name=v']);         // one label each: no map-order ambiguity
  same(['volume', 'ls', '--format', '{{.Name}}|{{.Driver}}|{{.Scope}}|{{.Mountpoint}}|{{.Size}}|{{.Links}}|{{.Label "name"}}|{{.Label "nope"}}']);
  same(['volume', 'ls', '--format', 'table {{.Name}}\t{{.Label "com.example.role"}}\t{{.Labels}}\t{{.Size}}', '-f', 'name=v1']);
  same(['volume', 'ls', '--format', 'table {{.Name}}\t{{.Label "com.example.role"}}', '-f', 'label=com.example.role']);
  same(['volume', 'ls', '--format', '{{json .Name}} {{upper .Driver}} {{.Group}} {{.Availability}} {{.Status}}']);
  same(['volume', 'ls', '--format', 'raw', '-f', 'name=data']);
  same(['volume', 'ls', '-q', '--format', 'raw']);
  same(['volume', 'ls', '-q', '--format', '{{.Driver}}/{{.Name}}']);
  same(['volume', 'ls', '-f', 'dangling=true']);
  same(['volume', 'ls', '-f', 'dangling=false']);
  same(['volume', 'ls', '-f', 'driver=local', '-f', 'label=tier=db']);
  same(['volume', 'ls', '-f', 'label=name', '-f', 'name=v1']);
  same(['volume', 'ls', '-f', 'name=nosuch']);
  same(['volume', 'ls', '--format', '{{.Nope}}']);                    // template error: exit 1, nothing printed
  same(['volume', 'ls', '--format', '{{.Name']);                      // parse error
  same(['volume', 'ls', '--format', '{{nofunc .Name}}']);
  same(['volume', 'ls', '-f', 'bogus']);                              // 125, bad filter format
  same(['volume', 'ls', '-f', 'bogus=1']);                            // the daemon's invalid filter
  same(['volume', 'ls', 'extra']);                                    // accepts no arguments
});

test('volume inspect: JSON array, -f json, templates, unknown and empty names', { skip }, () => {
  ok(d.berth(['volume', 'create', '--label', 'a=<&>', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'insp1']));
  ok(d.berth(['volume', 'create', 'insp2']));
  const j = same(['volume', 'inspect', 'insp1', 'insp2']);
  const parsed = JSON.parse(j.stdout);
  assert.deepEqual(parsed.map((v: { Name: string }) => v.Name), ['insp1', 'insp2']);
  assert.match(j.stdout, /^\[\n {4}\{\n {8}"CreatedAt": "/);
  assert.match(j.stdout, /"a": "\\u003c\\u0026\\u003e"/, 'Go escapes <>& in MarshalIndent');
  same(['volume', 'inspect', '--format', 'json', 'insp1', 'insp2']);
  same(['volume', 'inspect', '-f', '{{.Name}} {{.Labels}} {{.Options}} {{.Status}} {{.UsageData}} {{.Scope}} {{json .Labels}}', 'insp1', 'insp2']);
  same(['volume', 'inspect', '-f', '{{json .}}', 'insp2']);
  same(['volume', 'inspect', '-f', '{{range $k, $v := .Options}}{{$k}}={{$v}};{{end}}', 'insp1']);
  const missing = same(['volume', 'inspect', 'nosuch']);
  assert.deepEqual([missing.status, missing.stdout, missing.stderr], [1, '[]\n', 'Error response from daemon: get nosuch: no such volume\n']);
  same(['volume', 'inspect', 'insp2', 'nosuch', 'insp1', 'other']);  // found ones printed, errors after, exit 1
  same(['volume', 'inspect', '-f', '{{.Name}}', 'nosuch', 'insp2']);
  same(['volume', 'inspect', '']);                                    // invalid volume name or ID: value is empty
  same(['volume', 'inspect', '-f', '{{.Nope}}', 'insp1', 'nosuch']);  // execution error per volume
  same(['volume', 'inspect', '-f', '{{.Name', 'insp1']);              // exit 64
  same(['volume', 'inspect']);                                        // requires at least 1 argument
});

test('volume rm: each removed name printed, errors on stderr after, exit 1; in use refused', { skip }, () => {
  const run = (cli: Daemon['berth'], p: string) => {
    ok(d.berth(['volume', 'create', `${p}1`]));
    ok(d.berth(['volume', 'create', `${p}2`]));
    return cli(['volume', 'rm', `${p}1`, 'nosuch', '', `${p}2`]);
  };
  const b = run(d.berth, 'rmb');
  const k = run(d.docker, 'rmd');
  assert.equal(b.status, 1);
  assert.equal(k.status, 1);
  assert.equal(b.stdout, 'rmb1\nrmb2\n');
  assert.equal(k.stdout, 'rmd1\nrmd2\n');
  assert.equal(b.stderr, 'Error response from daemon: get nosuch: no such volume\ninvalid volume name or ID: value is empty\n');
  assert.equal(b.stderr, k.stderr);
  assert.equal(d.berth(['volume', 'ls', '-q', '-f', 'name=rm']).stdout, '');

  // In use by a container (running or not): refused with the daemon's 409, -f or not.
  ok(d.berth(['run', '-d', '--name', 'holder', '-v', 'held:/data', 'busybox', 'sleep', '300']));
  const inUse = same(['volume', 'rm', 'held']);
  assert.equal(inUse.status, 1);
  assert.match(inUse.stderr, /^Error response from daemon: remove held: volume is in use - \[[0-9a-f]{64}\]\n$/);
  same(['volume', 'remove', '-f', 'held']);
  assert.equal(d.berth(['volume', 'ls', '-q', '-f', 'name=held']).stdout, 'held\n');
  same(['volume', 'rm']);
  ok(d.berth(['rm', '-f', 'holder']));
  assert.equal(ok(d.berth(['volume', 'rm', 'held'])).stdout, 'held\n');
});

test('volume prune: prompts, -a, --filter, the report; the same text from both CLIs', { skip }, () => {
  // Start from nothing unused but a volume held by a running container. (Prune leaves volumes
  // with mount options alone, as dockerd does: those go by name.)
  ok(d.berth(['volume', 'prune', '-af']));
  for (const v of d.berth(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean)) ok(d.berth(['volume', 'rm', v]));
  ok(d.berth(['run', '-d', '--name', 'keeper', '-v', 'kept:/data', 'busybox', 'sleep', '300']));
  anonymous(1500);

  // Declined (anything but y/Y, or no input): the prompt only, exit 0, nothing removed.
  for (const input of ['n\n', '\n', 'yes\n', '']) {
    const r = same(['volume', 'prune'], { input });
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, PROMPT, ''], JSON.stringify(input));
  }
  assert.equal(same(['volume', 'prune', '-a'], { input: 'N\n' }).stdout, PROMPT_ALL);
  assert.equal(d.berth(['volume', 'ls', '-q', '-f', 'dangling=true']).stdout.trim().split('\n').length, 1);
  // Errors before the prompt.
  same(['volume', 'prune', '-a', '--filter', 'all=1']);
  same(['volume', 'prune', '--filter', 'nofilter']);
  same(['volume', 'prune', 'extra']);

  // Anonymous ones only by default: the same report from each CLI for the same state (IDs masked).
  const mask = (s: string) => s.replace(/^[0-9a-f]{64}$/gm, '<id>');
  const b = d.berth(['volume', 'prune'], { input: 'y\n' });
  anonymous(1500);
  const k = d.docker(['volume', 'prune'], { input: 'y\n' });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(mask(b.stdout), `${PROMPT}Deleted Volumes:\n<id>\n\nTotal reclaimed space: 1.536MB\n`);
  assert.equal(mask(b.stdout), mask(k.stdout));
  assert.equal(b.stderr, k.stderr);
  // Nothing left to prune: only the total.
  assert.equal(same(['volume', 'prune', '-f']).stdout, 'Total reclaimed space: 0B\n');

  // -a: named ones too, filtered by label; the held one stays.
  const named = () => {
    ok(d.berth(['volume', 'create', '--label', 'keep=yes', 'pa-keep']));
    ok(d.berth(['volume', 'create', 'pa10']));
    ok(d.berth(['volume', 'create', 'pa9']));
  };
  for (const args of [['volume', 'prune', '-af', '--filter', 'label!=keep'], ['volume', 'prune', '--all', '--force', '--filter', 'label=keep=yes']]) {
    named();
    const rb = d.berth(args);
    named();
    const rk = d.docker(args);
    assert.equal(rb.status, 0, rb.stderr);
    assert.deepEqual([rb.stdout, rb.stderr, rb.status], [rk.stdout, rk.stderr, rk.status], args.join(' '));
    assert.match(rb.stdout, /^Deleted Volumes:\n/);
  }
  ok(d.berth(['volume', 'rm', 'pa10', 'pa9']));
  ok(d.berth(['volume', 'create', 'last1']));
  const all = same(['volume', 'prune', '-a'], { input: 'n\n' });
  assert.equal(all.stdout, PROMPT_ALL);
  const rb = d.berth(['volume', 'prune', '-a'], { input: 'y\n' });
  assert.equal(rb.stdout, `${PROMPT_ALL}Deleted Volumes:\nlast1\n\nTotal reclaimed space: 0B\n`);
  assert.equal(d.berth(['volume', 'ls', '-q']).stdout, 'kept\n');
  same(['volume', 'ls']);
  ok(d.berth(['rm', '-f', 'keeper']));
});

test('docker run and berth run: -v named/anonymous/bind, --mount, --volumes-from, rm -v, data kept', { skip }, () => {
  const host = `${d.dir}/hostdir`;
  for (const cli of ['docker', 'berth'] as const) {
    const run = (args: string[]) => (cli === 'docker' ? d.docker(args) : d.berth(args));
    const vol = `${cli}-data`;
    const w = run(['run', '--rm', '-v', `${vol}:/data`, '-v', `${host}-${cli}:/h`, 'busybox', 'sh', '-c', 'echo persisted > /data/f && echo to-host > /h/f']);
    assert.equal(w.status, 0, w.stderr);
    const r = run(['run', '--rm', '--mount', `type=volume,source=${vol},target=/v,readonly`, '--mount', `type=bind,source=${host}-${cli},target=/h`, 'busybox', 'sh', '-c', 'cat /v/f /h/f; touch /v/x 2>&1 | grep -c Read-only']);
    assert.equal(r.stdout, 'persisted\nto-host\n1\n', r.stderr);
    const c = run(['create', '--name', `${cli}-holder`, '-v', '/anon', '-v', `${vol}:/named`, 'busybox', 'true']);
    assert.equal(c.status, 0, c.stderr);
    const vf = run(['run', '--rm', '--volumes-from', `${cli}-holder:ro`, 'busybox', 'cat', '/named/f']);
    assert.equal(vf.stdout, 'persisted\n', vf.stderr);
    const mounts = run(['inspect', '-f', '{{range .Mounts}}{{.Type}} {{.Destination}} {{.RW}};{{end}}', `${cli}-holder`]);
    assert.equal(mounts.stdout.trim(), 'volume /anon true;volume /named true;');
    const anon = run(['inspect', '-f', '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}', `${cli}-holder`]).stdout.trim();
    assert.equal(run(['rm', '-v', `${cli}-holder`]).status, 0);
    assert.notEqual(run(['volume', 'inspect', anon]).status, 0);
    assert.equal(run(['volume', 'inspect', '-f', '{{.Name}}', vol]).stdout.trim(), vol);
    const bad = run(['run', '--rm', '--mount', 'type=bind,source=/no/such/dir,target=/x', 'busybox', 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /bind source path does not exist: \/no\/such\/dir/);
  }
});
