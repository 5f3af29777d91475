// The build executor: runs a parsed Dockerfile against the engine's stores and OCI runtime.
// See build.ts for the contract and a worked example.
//
// Output follows Docker's legacy builder texts (`Step 2/5 : RUN make`, ` ---> Using cache`,
// ` ---> Running in <id>`, `Successfully built <id>`): docker-py and scripts parse them. Stages
// the target needs run concurrently (as BuildKit does); to keep the legacy, linear output each
// stage's lines are held back until the stages before it have printed theirs.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, rmdir, writeFile, mkdtemp } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { isGzip, peek, tee } from '../common/streams.ts';
import { createGunzip } from 'node:zlib';
import { EngineError, invalid, isEngineError, notFound } from '../common/errors.ts';
import { parseSignal } from '../common/signals.ts';
import { buildSpec, DEFAULT_PATH_ENV, specToJson, type OciMount } from '../runtime/oci-spec.ts';
import { lookupUser, parseGroup, parsePasswd, readRootfsFile } from '../runtime/user.ts';
import { resolveInRoot } from '../archive/confine.ts';
import { extractTar } from '../archive/extract.ts';
import { createLayerTar } from '../store/snapshots/diff-layer.ts';
import { chainIdOf } from '../store/snapshots/snapshotter.ts';
import { mountOverlay, unmount } from '../sys/index.ts';
import type { ContainerConfig } from '../api/types/container.ts';
import type { ImageConfigFile } from '../api/types/image.ts';
import type { ImageRecord, LayerRef } from '../store/metadata/image-record.ts';
import type { BuildDeps, BuildOptions, BuildOutput, BuildReport, CacheRecord } from './build.ts';
import { authForRegistry } from '../registry/client/auth.ts';
import { parseReference } from '../common/reference.ts';
import type { BuildCache } from './cache.ts';
import { parseDockerfile } from './dockerfile/parser.ts';
import { expandCommand, parseCommand, splitStages } from './dockerfile/commands.ts';
import { DockerfileError, type Command, type CopyCmd, type Instruction } from './dockerfile/ast.ts';
import { ShellLex, expandHeredoc } from './dockerfile/shell-lex.ts';
import { PatternMatcher, parseDockerignore } from './context/dockerignore.ts';
import { archiveKind, cleanSource, copySource, extractArchive, findSources, hashSources, mkdirInRoot, writeHeredoc, type Source } from './copy.ts';
import { DEFAULT_DOWNLOAD_LIMITS, download } from './download.ts';

const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const HOST_PLATFORM = 'linux/amd64';
/** Docker's predefined args: usable without an ARG line, never in history or the cache key. */
const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);
/** BuildKit's automatic platform args (declared with ARG to be used). */
const PLATFORM_ARGS: Record<string, string> = {
  TARGETPLATFORM: HOST_PLATFORM, TARGETOS: 'linux', TARGETARCH: 'amd64', TARGETVARIANT: '',
  BUILDPLATFORM: HOST_PLATFORM, BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '',
};

/** A stage's image state between steps. `id` is the digest of `config` (the image ID it would have). */
interface State {
  config: ImageConfigFile;
  layers: LayerRef[];
  id: string;
  /** Whether CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

interface StageInfo {
  index: number;
  name?: string;
  from: Instruction;
  body: Instruction[];
  /** Step number of its FROM (1-based, over the stages built). */
  firstStep: number;
}

class BuildFailure extends EngineError {
  readonly exitCode?: number;
  constructor(message: string, exitCode?: number) {
    super('InvalidParameter', message, { code: 'BuildFailed' });
    this.exitCode = exitCode;
  }
}

export function configDigest(config: ImageConfigFile): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(config)).digest('hex')}`;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Holds each stage's output until the stages before it have finished (legacy linear output). */
class OrderedOutput {
  #sink: (s: string | Record<string, unknown>) => void;
  #order: number[];
  #bufs = new Map<number, (string | Record<string, unknown>)[]>();
  #done = new Set<number>();
  #live = 0;
  constructor(order: number[], sink: (s: string | Record<string, unknown>) => void) {
    this.#order = order;
    this.#sink = sink;
    for (const i of order) this.#bufs.set(i, []);
  }
  write(stage: number, s: string | Record<string, unknown>): void {
    if (this.#order[this.#live] === stage) this.#sink(s);
    else this.#bufs.get(stage)!.push(s);
  }
  finish(stage: number): void {
    this.#done.add(stage);
    while (this.#live < this.#order.length && this.#done.has(this.#order[this.#live])) {
      this.#live++;
      const next = this.#order[this.#live];
      if (next === undefined) break;
      for (const s of this.#bufs.get(next)!.splice(0)) this.#sink(s);
    }
  }
  flushAll(): void {
    for (const i of this.#order.slice(this.#live)) for (const s of this.#bufs.get(i)!.splice(0)) this.#sink(s);
  }
}

export class Builder {
  #d: BuildDeps;
  #cache: BuildCache;

  constructor(deps: BuildDeps, cache: BuildCache) {
    this.#d = deps;
    this.#cache = cache;
  }

  get cache(): BuildCache { return this.#cache; }

  /** Removes what a build killed mid-way left behind (called at daemon start). */
  async cleanup(): Promise<void> {
    // Best effort: what stays is only disk space under the data root, tried again at the next start.
    await rm(this.#d.tmpRoot, { recursive: true, force: true }).catch(() => {});
  }

  async build(body: Readable, o: BuildOptions, out: BuildOutput): Promise<BuildReport> {
    const release = this.#d.hold();
    // Removed at every start (cleanup): made again root's alone, as every data-root dir (daemon/state-dirs.ts).
    await mkdir(this.#d.tmpRoot, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.#d.tmpRoot, 'b-'));
    try {
      return await new BuildRun(this.#d, this.#cache, o, out, dir).run(body);
    } catch (e) {
      // Dockerfile errors are the client's: 400 before the stream starts, as dockerd answers.
      if (e instanceof DockerfileError) throw invalid(e.message);
      throw e;
    } finally {
      release();
      // The build's result (or error) is what counts; a leftover goes with cleanup() at the next start.
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }
}

/** One build: its context, options and output. */
class BuildRun {
  #d: BuildDeps;
  #cache: BuildCache;
  #o: BuildOptions;
  #out: BuildOutput;
  #dir: string;
  #ctx: string;
  #escape: '\\' | '`' = '\\';
  #stages: StageInfo[] = [];
  #results = new Map<number, Promise<State>>();
  #globalArgs = new Map<string, string | undefined>();
  #usedArgs = new Set<string>();
  #totalSteps = 0;
  #abort = new AbortController();
  #log!: OrderedOutput;
  #cacheFrom: { record: ImageRecord; config: ImageConfigFile }[] = [];
  /** sha256 of each context file, computed while the context was unpacked. */
  #ctxHashes = new Map<string, string>();
  /** The host owner of what the build makes as root in a rootfs (the remapped root under --userns-remap). */
  get #rootIds(): { uid: number; gid: number } { return this.#d.idMap?.root ?? { uid: 0, gid: 0 }; }

  constructor(d: BuildDeps, cache: BuildCache, o: BuildOptions, out: BuildOutput, dir: string) {
    this.#d = d;
    this.#cache = cache;
    this.#o = o;
    this.#out = out;
    this.#dir = dir;
    this.#ctx = join(dir, 'context');
    o.signal.addEventListener('abort', () => this.#abort.abort(), { once: true });
  }

  #say(stage: number, s: string): void {
    this.#log.write(stage, s);
  }

  async run(body: Readable): Promise<BuildReport> {
    if (this.#o.platform) checkPlatform(this.#o.platform);
    // A user network (name or ID) is looked up when a RUN needs it, as Docker's classic builder
    // creates each RUN container with that network mode (a build without RUN never asks).
    if (this.#o.networkMode?.startsWith('container:')) {
      throw invalid(`network mode "${this.#o.networkMode}" is not supported for builds by berth`);
    }
    for (const ref of this.#o.cacheFrom) {
      const img = await this.#d.findImage(ref);
      if (img) this.#cacheFrom.push(img);
    }
    const T = trace();
    await this.#receiveContext(body);
    T('context');
    const dockerfileText = await this.#readDockerfile();
    await this.#applyDockerignore();
    T('dockerignore');
    const df = parseDockerfile(dockerfileText);
    this.#escape = df.escape;
    const split = splitStages(df);
    // Global ARGs: usable in FROM lines.
    const lex = new ShellLex(this.#escape);
    for (const inst of split.globalArgs) {
      const c = parseCommand(inst);
      if (c.kind !== 'arg') continue;
      for (const a of c.args) {
        let v: string | undefined = a.value !== undefined ? lex.processWord(a.value, Object.fromEntries(this.#globalArgs)) : undefined;
        if (a.name in this.#o.buildArgs) { v = this.#o.buildArgs[a.name] ?? v; this.#usedArgs.add(a.name); }
        if (v === undefined && a.name in PLATFORM_ARGS) v = PLATFORM_ARGS[a.name];
        this.#globalArgs.set(a.name, v);
      }
    }
    // Validate every instruction up front (Docker reports a bad line before running anything).
    for (const s of split.stages) for (const inst of [s.from, ...s.body] as Instruction[]) parseCommand(inst);
    const stages = split.stages.map((s: { index: number; name?: string; from: Instruction; body: Instruction[] }) => ({ index: s.index, name: s.name?.toLowerCase(), from: s.from, body: s.body, firstStep: 0 }));
    if (stages.length === 0) throw invalid('the Dockerfile (Dockerfile) cannot be empty');
    let target = stages.length - 1;
    if (this.#o.target) {
      const t = stages.find((s) => s.name === this.#o.target!.toLowerCase());
      if (!t) throw invalid(`failed to reach build target ${this.#o.target} in Dockerfile`);
      target = t.index;
    }
    // `labels`: as moby's buildLabelOptions, one `LABEL k=v` step per label (keys sorted) at the
    // end of the target stage, never expanded: the words are quoted so that the parser takes
    // them as they are (inside double quotes the escape protects `"`, `$` and itself).
    const esc = this.#escape;
    const quoted = (w: string) => `"${w.replace(/["$\\`]/g, (c) => (c === '"' || c === '$' || c === esc ? `${esc}${c}` : c))}"`;
    for (const k of Object.keys(this.#o.labels).sort()) {
      const v = this.#o.labels[k];
      stages[target].body = [...stages[target].body, { cmd: 'label', original: `LABEL ${k}=${v}`, line: 0, endLine: 0, flags: [], rest: `${quoted(k)}=${quoted(v)}`, heredocs: [] }];
    }
    this.#stages = stages;
    const needed = this.#neededStages(target);
    let step = 1;
    for (const i of needed) { stages[i].firstStep = step; step += 1 + stages[i].body.length; }
    this.#totalSteps = step - 1;
    this.#log = new OrderedOutput(needed, (s) => (typeof s === 'string' ? this.#out.stream(s) : this.#out.message?.(s)));
    for (const i of needed) this.#results.set(i, this.#runStage(stages[i]));
    // Every needed stage runs now; the first failure cancels the others.
    let final: State;
    try {
      const settled = await Promise.allSettled(needed.map((i) => this.#results.get(i)!));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isCancel(r.reason)) ?? settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      final = (settled[needed.indexOf(target)] as PromiseFulfilledResult<State>).value;
    } catch (e) {
      this.#log.flushAll();
      throw e;
    }
    const unused = Object.keys(this.#o.buildArgs).filter((a) => !this.#usedArgs.has(a) && !PROXY_ARGS.has(a));
    if (unused.length) this.#out.stream(`[Warning] One or more build-args [${unused.sort().join(' ')}] were not consumed\n`);
    const rec = await this.#d.createImage(final.config, final.layers);
    this.#out.aux({ ID: rec.id });
    this.#out.stream(`Successfully built ${short(rec.id)}\n`);
    const tags: string[] = [];
    for (const t of this.#o.tags) {
      await this.#d.tag(rec.id, t);
      tags.push(t);
      this.#out.stream(`Successfully tagged ${familiarTag(t)}\n`);
    }
    return { id: rec.id, tags };
  }

  // ---------------------------------------------------------------------------- context

  async #receiveContext(body: Readable): Promise<void> {
    await mkdir(this.#ctx, { recursive: true });
    const { head, stream: rest } = await peek(body);
    if (head.length === 0) return; // an empty context: only a Dockerfile-less build, which fails below
    const gz = isGzip(head);
    const tar = gz ? rest.pipe(createGunzip()) : rest;
    if (gz) rest.on('error', (e) => tar.destroy(e));
    try {
      await extractTar(this.#ctx, tar, { fileHashes: this.#ctxHashes });
    } catch (e) {
      if (isEngineError(e)) throw invalid(`failed to read build context: ${e.message}`);
      throw invalid(`failed to read build context: ${(e as Error).message}`);
    }
  }

  async #readDockerfile(): Promise<string> {
    const name = this.#o.dockerfile || 'Dockerfile';
    let host = await resolveInRoot(this.#ctx, cleanSource(name));
    if (!host && !this.#o.dockerfile) host = await resolveInRoot(this.#ctx, 'dockerfile');
    if (!host || !(await lstat(host)).isFile()) throw invalid(`Cannot locate specified Dockerfile: ${name}`);
    return readFile(host, 'utf8');
  }

  /** Files the client should not have sent (API clients that skip .dockerignore) go now. */
  async #applyDockerignore(): Promise<void> {
    const dfName = cleanSource(this.#o.dockerfile || 'Dockerfile');
    let text: string | undefined;
    for (const cand of [`${dfName}.dockerignore`, '.dockerignore']) {
      const host = await resolveInRoot(this.#ctx, cand);
      if (host && (await lstat(host)).isFile()) { text = await readFile(host, 'utf8'); break; }
    }
    if (text === undefined) return;
    const patterns = parseDockerignore(text);
    if (!patterns.length) return;
    const m = new PatternMatcher(patterns);
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const n of await readdir(dir)) {
        const r = rel ? `${rel}/${n}` : n;
        const p = join(dir, n);
        const st = await lstat(p);
        if (m.matches(r)) {
          // Docker walks into an excluded directory only when an exception may re-include something in it.
          if (st.isDirectory() && m.mayReinclude(r)) { await walk(p, r); continue; }
          await rm(p, { recursive: true, force: true });
        } else if (st.isDirectory()) await walk(p, r);
      }
    };
    await walk(this.#ctx, '');
  }

  // ---------------------------------------------------------------------------- stages

  #stageRef(ref: string, before: number): StageInfo | undefined {
    const low = ref.toLowerCase();
    if (/^\d+$/.test(ref)) {
      const n = Number(ref);
      return n < before ? this.#stages[n] : undefined;
    }
    return this.#stages.slice(0, before).find((s) => s.name === low);
  }

  /** The stages the target depends on (FROM <stage>, COPY --from=<stage>), in file order. */
  #neededStages(target: number): number[] {
    const need = new Set<number>();
    const visit = (i: number) => {
      if (need.has(i)) return;
      need.add(i);
      const s = this.#stages[i];
      const from = parseCommand(s.from);
      if (from.kind === 'from') {
        const dep = this.#stageRef(expandGlobal(from.image, this.#globalArgs, this.#escape), i);
        if (dep) visit(dep.index);
      }
      for (const inst of s.body) {
        const c = parseCommand(inst);
        if ((c.kind === 'copy' || c.kind === 'add') && c.from) {
          const dep = this.#stageRef(c.from, i);
          if (dep) visit(dep.index);
        }
      }
    };
    visit(target);
    return [...need].sort((a, b) => a - b);
  }

  async #stageState(ref: string, before: number): Promise<State | undefined> {
    const s = this.#stageRef(ref, before);
    if (!s) return undefined;
    const p = this.#results.get(s.index);
    if (!p) throw invalid(`stage ${ref} is not part of this build`);
    return p;
  }

  async #runStage(stage: StageInfo): Promise<State> {
    try {
      return await this.#runStageSteps(stage);
    } catch (e) {
      this.#abort.abort();
      throw e;
    } finally {
      this.#log.finish(stage.index);
    }
  }

  async #runStageSteps(stage: StageInfo): Promise<State> {
    const i = stage.index;
    let step = stage.firstStep;
    this.#say(i, `Step ${step}/${this.#totalSteps} : ${stage.from.original}\n`);
    const from = expandCommand(parseCommand(stage.from), Object.fromEntries(this.#globalArgs), this.#escape);
    if (from.kind !== 'from') throw invalid('expected FROM');
    if (from.platform) checkPlatform(from.platform);
    let st = await this.#base(from.image, i);
    this.#say(i, ` ---> ${short(st.id)}\n`);
    const args = new Map<string, string | undefined>();
    // ONBUILD triggers of the base image run first, then are dropped from this image.
    const triggers = st.config.config?.OnBuild ?? [];
    if (triggers.length) {
      this.#say(i, `# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      const cfg = clone(st.config);
      cfg.config = { ...cfg.config, OnBuild: null };
      st = { ...st, config: cfg, id: configDigest(cfg) };
      for (const t of triggers) {
        const df = parseDockerfile(t);
        for (const inst of df.instructions) st = await this.#step(i, inst, st, args);
      }
    }
    for (const inst of stage.body) {
      step++;
      if (this.#abort.signal.aborted) throw cancelled();
      this.#say(i, `Step ${step}/${this.#totalSteps} : ${inst.original}\n`);
      st = await this.#step(i, inst, st, args);
    }
    return st;
  }

  async #base(image: string, stage: number): Promise<State> {
    if (image.toLowerCase() === 'scratch') {
      const config: ImageConfigFile = { architecture: 'amd64', os: 'linux', config: { Env: [`PATH=${DEFAULT_PATH_ENV}`] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
      return { config, layers: [], id: configDigest(config), cmdSet: false };
    }
    const prev = await this.#stageState(image, stage);
    if (prev) return { ...prev, cmdSet: false };
    let found = this.#o.pull ? undefined : await this.#d.findImage(image);
    if (!found) {
      let registry: string | undefined;
      try { registry = parseReference(image).domain; } catch { /* the pull reports a bad reference */ }
      await this.#d.pull(image, this.#abort.signal, {
        auth: registry ? authForRegistry(this.#o.registryAuth, registry) : undefined,
        emit: (m) => this.#log.write(stage, m),
      });
      found = await this.#d.findImage(image);
      if (!found) throw notFound(`No such image: ${image}`);
    }
    if (found.config.architecture && found.config.architecture !== 'amd64') {
      throw invalid(`image ${image} is for ${found.config.os}/${found.config.architecture}, which does not match the host platform ${HOST_PLATFORM}`);
    }
    return { config: clone(found.config), layers: found.record.layers.map((l) => ({ ...l })), id: found.record.id, cmdSet: false };
  }

  // ---------------------------------------------------------------------------- steps

  /** The variables a step's words see: ENV wins over ARG (Docker's rule). */
  #envFor(st: State, args: Map<string, string | undefined>): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {};
    for (const [k, v] of args) if (v !== undefined) env[k] = v;
    for (const e of st.config.config?.Env ?? []) {
      const eq = e.indexOf('=');
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    return env;
  }

  async #step(stage: number, inst: Instruction, st: State, args: Map<string, string | undefined>): Promise<State> {
    const raw = parseCommand(inst);
    const cmd = expandCommand(raw, this.#envFor(st, args), this.#escape);
    if (cmd.kind === 'arg') {
      for (const a of cmd.args) {
        let v = a.value;
        if (a.name in this.#o.buildArgs) {
          this.#usedArgs.add(a.name);
          v = this.#o.buildArgs[a.name] ?? v;
        } else if (v === undefined && this.#globalArgs.has(a.name)) v = this.#globalArgs.get(a.name);
        else if (v === undefined && a.name in PLATFORM_ARGS) v = PLATFORM_ARGS[a.name];
        args.set(a.name, v);
      }
    }
    // Build args in scope, as RUN sees them and as the cache key records them (Docker's `|N a=b`).
    const runArgs = [...args].filter(([k, v]) => v !== undefined && !PROXY_ARGS.has(k)).map(([k, v]) => `${k}=${v}`).sort();
    for (const [k] of args) if (PROXY_ARGS.has(k) || k in this.#o.buildArgs) this.#usedArgs.add(k);

    switch (cmd.kind) {
      case 'run': return this.#cached(stage, st, cmd, runArgs, '', () => this.#run(stage, st, cmd, args, runArgs), runCreatedBy(runArgv(cmd, st.config.config ?? {}).argv, runArgs));
      case 'copy': case 'add': return this.#copy(stage, st, cmd);
      case 'workdir': return this.#cached(stage, st, cmd, [], '', () => this.#workdir(st, cmd.path));
      default: {
        const meta = this.#meta(st, cmd);
        return this.#cached(stage, st, cmd, [], '', async () => meta, meta.createdBy);
      }
    }
  }

  /**
   * The cache probe around a step: the key is the parent's config digest, the expanded
   * instruction, the build args in scope and a digest of the files the step reads. A hit whose
   * layers are still stored is reused. With `--cache-from`, as in Docker's classic builder
   * (image/cache's ImageCache), only those images serve as cache, probed by their history: the
   * local cache is not used at all, and a hit takes the image's own history entry and layer, so
   * a rebuild that hits every step gives that image itself.
   */
  async #cached(stage: number, st: State, cmd: Command, runArgs: string[], content: string, exec: () => Promise<Omit<State, 'id'> & { createdBy: string; size: number }>, createdBy?: string): Promise<State> {
    const key = `sha256:${createHash('sha256').update(JSON.stringify([st.id, cmd, runArgs, content])).digest('hex')}`;
    const cacheFrom = this.#o.cacheFrom.length > 0;
    if (!this.#o.noCache && !cacheFrom) {
      const hit = this.#cache.get(key);
      if (hit && (await this.#layersPresent(hit.layers))) {
        this.#cache.touch(key);
        this.#say(stage, ` ---> Using cache\n ---> ${short(configDigest(hit.config))}\n`);
        return { config: hit.config, layers: hit.layers, id: configDigest(hit.config), cmdSet: st.cmdSet || cmd.kind === 'cmd' };
      }
    }
    if (this.#abort.signal.aborted) throw cancelled();
    let r: Omit<State, 'id'> & { createdBy: string; size: number } | undefined;
    const hit = !this.#o.noCache && cacheFrom && createdBy !== undefined ? this.#probeCacheFrom(st, createdBy) : undefined;
    if (hit?.whole) {
      // The image's last step: the result is that image (its config, ID and layers).
      r = { config: clone(hit.whole.config), layers: hit.whole.layers.map((l) => ({ ...l })), createdBy: createdBy!, size: 0, cmdSet: st.cmdSet || cmd.kind === 'cmd' };
      this.#say(stage, ' ---> Using cache\n');
    } else if (hit) {
      // Metadata steps are pure: their result is recomputed; file steps take the image's layer.
      r = ['run', 'copy', 'add', 'workdir'].includes(cmd.kind) ? this.#next(st, clone(st.config), createdBy!, hit.layer) : await exec();
      // The image's history entry as it is (the next step's probe compares entries whole).
      r.config.history = [...(st.config.history ?? []), clone(hit.entry)];
      if (hit.entry.created) r.config.created = hit.entry.created;
      this.#say(stage, ' ---> Using cache\n');
    } else r = await exec();
    const now = new Date().toISOString();
    const rec: CacheRecord = { key, config: r.config, layers: r.layers, createdBy: r.createdBy, size: r.size, created: now, lastUsed: now, usageCount: 1 };
    await this.#cache.put(rec);
    const id = configDigest(r.config);
    this.#say(stage, ` ---> ${short(id)}\n`);
    return { config: r.config, layers: r.layers, id, cmdSet: r.cmdSet };
  }

  /**
   * `--cache-from`: an image whose history starts with this state's history (entry for entry) and
   * its layers, and whose next entry is this step, serves as its cache (Docker's ImageCache:
   * isValidParent, isValidConfig). Returns that entry and the layer it adds (none for an empty
   * layer), and the image itself when the entry is its last.
   */
  #probeCacheFrom(st: State, createdBy: string): { entry: HistoryEntry; layer?: LayerRef; whole?: { config: ImageConfigFile; layers: LayerRef[] } } | undefined {
    const hist = st.config.history ?? [];
    for (const img of this.#cacheFrom) {
      const h = img.config.history ?? [];
      if (h.length <= hist.length) continue;
      if (!hist.every((e, i) => sameHistoryEntry(e, h[i]))) continue;
      const ids = img.config.rootfs.diff_ids;
      if (!st.layers.every((l, i) => ids[i] === l.diffId)) continue;
      const next = h[hist.length];
      if (next.created_by !== createdBy) continue;
      if (hist.length === h.length - 1) return { entry: next, whole: { config: img.config, layers: img.record.layers } };
      if (next.empty_layer) return { entry: next };
      const layer = img.record.layers[h.slice(0, hist.length).filter((e) => !e.empty_layer).length];
      if (layer) return { entry: next, layer: { ...layer } };
    }
    return undefined;
  }

  async #layersPresent(layers: LayerRef[]): Promise<boolean> {
    const top = layers.length ? layers[layers.length - 1].chainId : undefined;
    return !top || this.#d.snapshotter.hasLayer(top);
  }

  /**
   * A new state: the config with one more history entry (and the layer, if any). As Docker's
   * legacy builder, the config also records the step's own container config
   * (`container_config`: the image config with the parent image and the step's command, its
   * VOLUMEs included, which docker-compose 1.29 reads when it recreates a service) and, for a
   * RUN, the step's container (`container`).
   */
  #next(st: State, config: ImageConfigFile, createdBy: string, layer?: LayerRef, extra: { cmdSet?: boolean; cmd?: string[]; container?: string } = {}) {
    const now = new Date().toISOString();
    config.created = now;
    delete config.container;
    if (extra.container) config.container = extra.container;
    config.container_config = { ...(config.config ?? {}), Image: st.id, Cmd: extra.cmd ?? stepCmd(createdBy) };
    config.history = [...(config.history ?? []), layer ? { created: now, created_by: createdBy } : { created: now, created_by: createdBy, empty_layer: true }];
    const layers = layer ? [...st.layers, layer] : st.layers;
    config.rootfs = { type: 'layers', diff_ids: layers.map((l) => l.diffId) };
    return { config, layers, createdBy, size: layer?.unpackedSize ?? 0, cmdSet: extra.cmdSet ?? st.cmdSet };
  }

  #meta(st: State, cmd: Command) {
    const config = clone(st.config);
    const c: ContainerConfig = { ...(config.config ?? {}) };
    const nop = (s: string) => `/bin/sh -c #(nop) ${s}`;
    let createdBy = '';
    let cmdSet = st.cmdSet;
    switch (cmd.kind) {
      case 'env': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of cmd.pairs) {
          const i = env.findIndex((e) => e === k || e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
        }
        c.Env = env;
        createdBy = nop(` ENV ${cmd.pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        break;
      }
      case 'label':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(cmd.pairs) };
        createdBy = nop(` LABEL ${cmd.pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        break;
      case 'arg':
        createdBy = nop(` ARG ${cmd.args.map((a) => (a.value !== undefined ? `${a.name}=${a.value}` : a.name)).join(' ')}`);
        break;
      case 'cmd':
        c.Cmd = cmd.shell ? [...shellOf(c), cmd.args[0] ?? ''] : [...cmd.args];
        cmdSet = true;
        createdBy = nop(` CMD ${goQuoteList(c.Cmd)}`);
        break;
      case 'entrypoint':
        c.Entrypoint = cmd.shell ? (cmd.args[0] === '' || cmd.args.length === 0 ? null : [...shellOf(c), cmd.args[0]]) : [...cmd.args];
        // Docker: a new ENTRYPOINT drops a CMD inherited from the base image.
        if (!st.cmdSet) c.Cmd = null;
        createdBy = nop(` ENTRYPOINT ${goQuoteList(c.Entrypoint ?? [])}`);
        break;
      case 'expose': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        const list: string[] = [];
        for (const p of cmd.ports) for (const q of expandPort(p)) { ports[q] = {}; list.push(q); }
        c.ExposedPorts = ports;
        createdBy = nop(` EXPOSE ${list.join(' ')}`);
        break;
      }
      case 'user':
        c.User = cmd.user;
        createdBy = nop(` USER ${cmd.user}`);
        break;
      case 'volume': {
        const v = { ...(c.Volumes ?? {}) };
        for (const p of cmd.paths) {
          if (!p.trim()) throw invalid('VOLUME specified can not be an empty string');
          v[p] = {};
        }
        c.Volumes = v;
        createdBy = nop(` VOLUME [${cmd.paths.join(' ')}]`);
        break;
      }
      case 'stopsignal':
        try { parseSignal(cmd.signal); } catch { throw invalid(`Invalid signal: ${cmd.signal}`); }
        c.StopSignal = cmd.signal;
        createdBy = nop(` STOPSIGNAL ${cmd.signal}`);
        break;
      case 'healthcheck': {
        if (cmd.test[0] === 'NONE') c.Healthcheck = { Test: ['NONE'] };
        else {
          const h: NonNullable<ContainerConfig['Healthcheck']> = { Test: cmd.test };
          if (cmd.interval !== undefined) h.Interval = cmd.interval;
          if (cmd.timeout !== undefined) h.Timeout = cmd.timeout;
          if (cmd.startPeriod !== undefined) h.StartPeriod = cmd.startPeriod;
          if (cmd.startInterval !== undefined) h.StartInterval = cmd.startInterval;
          if (cmd.retries !== undefined) h.Retries = cmd.retries;
          c.Healthcheck = h;
        }
        createdBy = nop(` HEALTHCHECK &{${goQuoteList(cmd.test)} "${nsText(cmd.interval)}" "${nsText(cmd.timeout)}" "${nsText(cmd.startPeriod)}" "${nsText(cmd.startInterval)}" '\\x${(cmd.retries ?? 0).toString(16).padStart(2, '0')}'}`);
        break;
      }
      case 'shell':
        c.Shell = [...cmd.shell];
        createdBy = nop(` SHELL ${goQuoteList(cmd.shell)}`);
        break;
      case 'onbuild':
        c.OnBuild = [...(c.OnBuild ?? []), cmd.expression];
        createdBy = nop(` ONBUILD ${cmd.expression}`);
        break;
      case 'maintainer':
        config.author = cmd.name;
        createdBy = nop(` MAINTAINER ${cmd.name}`);
        break;
      case 'from': case 'run': case 'copy': case 'add': case 'workdir':
        throw new Error(`not a metadata step: ${cmd.kind}`);
    }
    config.config = c;
    return this.#next(st, config, createdBy, undefined, { cmdSet });
  }

  async #workdir(st: State, path: string) {
    const config = clone(st.config);
    const c: ContainerConfig = { ...(config.config ?? {}) };
    const dir = posix.resolve(c.WorkingDir || '/', path);
    c.WorkingDir = dir;
    config.config = c;
    // Docker creates the directory (in a layer) when it does not exist yet.
    const layer = await this.#inRootfs(st, async (root) => {
      const have = await resolveInRoot(root, dir);
      if (!have) await mkdirInRoot(root, dir, this.#rootIds.uid, this.#rootIds.gid);
    });
    return this.#next(st, config, `/bin/sh -c #(nop) WORKDIR ${dir}`, layer);
  }

  async #run(stage: number, st: State, cmd: Extract<Command, { kind: 'run' }>, args: Map<string, string | undefined>, runArgs: string[]) {
    const c = st.config.config ?? {};
    const { argv, script } = runArgv(cmd, c);
    const env = [...(c.Env ?? [])];
    for (const [k, v] of args) {
      if (v === undefined) continue;
      if (!env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${v}`);
    }
    // `RUN --network=default` is the build's own network mode.
    const network = (cmd.network !== 'default' ? cmd.network : undefined) ?? this.#o.networkMode ?? 'default';
    const builtin = ['default', 'bridge', 'none', 'host'].includes(network);
    // A user network: resolved now (404 "network x not found", as the RUN container's create).
    let userNet: string | undefined;
    if (!builtin) {
      if (!this.#d.networking?.resolveName) throw invalid(`network ${network} not found: bridge networking is off on this daemon`);
      userNet = this.#d.networking.resolveName(network);
    }
    const id = randomBytes(32).toString('hex');
    this.#say(stage, ` ---> Running in ${id.slice(0, 12)}\n`);
    const tail: string[] = [];
    let netTeardown: (() => Promise<void>) | undefined;
    const layer = await this.#inRootfs(st, async (root, bundleDir) => {
     try {
      const cwd = c.WorkingDir || '/';
      if (!(await resolveInRoot(root, cwd))) await mkdirInRoot(root, cwd, this.#rootIds.uid, this.#rootIds.gid);
      const hosts = join(bundleDir, 'hosts');
      // A host without /etc/hosts: the step gets an empty one.
      await writeFile(hosts, network === 'host' ? await readFile('/etc/hosts', 'utf8').catch(() => '') : hostsFile(this.#o.extraHosts));
      const resolv = join(bundleDir, 'resolv.conf');
      const extraMounts: OciMount[] = [
        { destination: '/etc/resolv.conf', type: 'bind', source: resolv, options: ['rbind', 'rprivate'] },
        { destination: '/etc/hosts', type: 'bind', source: hosts, options: ['rbind', 'rprivate'] },
      ];
      if (script) {
        const p = join(bundleDir, 'script');
        await writeFile(p, script.content, { mode: 0o755 });
        extraMounts.push({ destination: `/dev/pipes/${script.name}`, type: 'bind', source: p, options: ['rbind', 'ro'] });
      }
      // `default`/`bridge` join the daemon's default bridge when it has one (else a private
      // namespace with only lo, as `none`); a user network's RUN asks its embedded DNS, so the
      // network's containers resolve by name.
      const netTarget = { id, name: `build-${id.slice(0, 12)}`, config: { Hostname: id.slice(0, 12) }, hostConfig: { NetworkMode: userNet ?? (network === 'default' ? 'bridge' : network) }, networks: {} };
      const net = network === 'default' || network === 'bridge' || userNet ? await this.#d.networking?.setUp(netTarget) : undefined;
      netTeardown = net ? () => this.#d.networking!.tearDown(netTarget) : undefined;
      await writeFile(resolv, await hostResolvConf(net?.nameservers));
      const runConfig = { ...c, Env: env, Tty: false, OpenStdin: false, Hostname: id.slice(0, 12) };
      const runHostConfig = { ...(this.#o.resources ?? {}), NetworkMode: userNet ? 'bridge' : network, ShmSize: this.#o.shmSize };
      await this.#d.checkRun?.(runConfig, runHostConfig);
      const spec = await buildSpec({
        id, rootfs: root,
        config: runConfig,
        hostConfig: runHostConfig,
        args: argv,
        cgroupsPath: `/${this.#d.cgroupParent}/build-${id.slice(0, 12)}`,
        namespaces: { network: network === 'host' ? 'host' : net?.netnsPath },
        extraMounts,
        idMap: this.#d.idMap,
      });
      spec.hostname = id.slice(0, 12);
      const bundle = join(bundleDir, 'bundle');
      await mkdir(bundle, { recursive: true });
      await writeFile(join(bundle, 'config.json'), specToJson(spec));
      let pending = '';
      const code = await this.#d.runtime().run({
        id: `build-${id.slice(0, 12)}`,
        bundle,
        signal: this.#abort.signal,
        onOutput: (chunk, stream) => {
          const s = chunk.toString('utf8');
          // Docker's legacy builder wraps each write to stderr in red (streamformatter's
          // NewStderrWriter): clients show it as is, and scripts may look for it.
          this.#say(stage, stream === 'stderr' ? `\x1b[91m${s}\x1b[0m` : s);
          pending += s;
          const lines = pending.split('\n');
          pending = lines.pop()!;
          tail.push(...lines);
          if (tail.length > 20) tail.splice(0, tail.length - 20);
        },
      }).catch((e: unknown) => {
        if (isEngineError(e) && e.code === 'Canceled') throw cancelled();
        throw e;
      });
      if (pending) tail.push(pending);
      if (this.#o.rm || this.#o.forceRm) this.#say(stage, `Removing intermediate container ${id.slice(0, 12)}\n`);
      if (code !== 0) {
        const shown = cmd.shell ? argv.join(' ') : JSON.stringify(argv);
        throw new BuildFailure(`The command '${shown}' returned a non-zero code: ${code}`, code);
      }
     } finally {
      // The step's result (or error) is what counts. A namespace or address left by a failed
      // teardown is dropped by the network service's reconcile at the next start (no such container).
      await netTeardown?.().catch(() => {});
     }
    }, ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/proc', '/sys', '/dev', ...(script ? ['/dev/pipes'] : [])]);
    void tail;
    return this.#next(st, clone(st.config), runCreatedBy(argv, runArgs), layer, { cmd: runArgs.length ? [`|${runArgs.length}`, ...runArgs, ...argv] : argv, container: id });
  }

  async #copy(stage: number, st: State, cmd: CopyCmd): Promise<State> {
    const c = st.config.config ?? {};
    const what = cmd.kind.toUpperCase();
    let mode: number | undefined;
    if (cmd.chmod !== undefined) {
      if (!/^[0-7]{1,4}$/.test(cmd.chmod)) throw invalid(`invalid chmod parameter: ${cmd.chmod}`);
      mode = parseInt(cmd.chmod, 8);
    }
    // Where the sources come from: the context, another stage, or an image.
    let fromLayers: LayerRef[] | undefined;
    if (cmd.from !== undefined) {
      const prev = await this.#stageState(cmd.from, stage);
      if (prev) fromLayers = prev.layers;
      else {
        if (/^\d+$/.test(cmd.from)) throw invalid(`invalid from flag value ${cmd.from}: refers to current build stage or a later one`);
        const img = await this.#d.findImage(cmd.from);
        if (!img) throw invalid(`invalid from flag value ${cmd.from}: No such image: ${cmd.from}`);
        fromLayers = img.record.layers;
      }
    }
    const heredocs = new Map(cmd.heredocs.map((h) => [h.name, h]));
    const isHeredoc = (s: string) => /^<<-?/.test(s) && heredocs.has(s.replace(/^<<-?(["']?)(.*)\1$/, '$2'));
    const urls = cmd.kind === 'add' ? cmd.sources.filter((s) => /^https?:\/\//i.test(s)) : [];
    const multi = cmd.sources.length > 1;
    const workdir = c.WorkingDir || '/';
    let dest = cmd.dest;
    const destIsDir = dest.endsWith('/') || dest.endsWith('/.') || dest === '.';
    dest = posix.resolve(workdir, dest);
    const env = this.#envFor(st, new Map());
    const run = async (sourceRoot: string | undefined) => {
      // Sources first (their errors come before anything is written), with the content hash.
      const found: { src: Source; url?: boolean }[] = [];
      const hashParts: string[] = [];
      for (const s of cmd.sources) {
        if (isHeredoc(s)) {
          const h = heredocs.get(s.replace(/^<<-?(["']?)(.*)\1$/, '$2'))!;
          hashParts.push(`heredoc:${h.name}:${h.expand ? expandHeredoc(h.content, env) : h.content}`);
          continue;
        }
        if (urls.includes(s)) {
          const file = await download(s, join(this.#dir, `dl-${randomBytes(6).toString('hex')}`), cmd.dest, this.#abort.signal, this.#d.downloadLimits ?? DEFAULT_DOWNLOAD_LIMITS);
          found.push({ src: { host: file.path, rel: file.name, dir: false }, url: true });
          hashParts.push(`url:${s}:${await hashSources([{ host: file.path, rel: file.name, dir: false }])}`);
          continue;
        }
        let list: Source[];
        try {
          list = await findSources(sourceRoot ?? this.#ctx, s, sourceRoot ? 'stage' : 'context');
        } catch (e) {
          throw invalid(`${what} failed: ${(e as Error).message}`);
        }
        for (const src of list) found.push({ src });
        if (!sourceRoot) hashParts.push(`ctx:${s}:${await hashSources(list, this.#ctxHashes)}`);
        else hashParts.push(`from:${s}:${list.map((x) => x.rel).join(',')}`);
      }
      const count = found.length + cmd.sources.filter(isHeredoc).length;
      if ((multi || count > 1) && !destIsDir) {
        throw invalid(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
      }
      return { found, hash: hashParts.join('\n') };
    };
    // The cache key needs the sources' digest: for context sources we read them now; for
    // another stage's or an image's files its layer chain already names their content.
    const withSourceRoot = async <T>(fn: (root: string | undefined) => Promise<T>): Promise<T> =>
      fromLayers ? this.#view(fromLayers, fn) : fn(undefined);
    const fromChain = fromLayers ? (fromLayers.length ? fromLayers[fromLayers.length - 1].chainId : 'scratch') : '';
    let contentKey: string;
    let hint: string | undefined;
    let pre: Awaited<ReturnType<typeof run>> | undefined;
    const describe = (found: { src: Source }[]) => {
      const desc = found.length === 1 && !found[0].src.dir ? 'file' : found.length === 1 ? 'dir' : 'multi';
      return `/bin/sh -c #(nop) ${what} ${desc}:${createHash('sha256').update(contentKey).digest('hex')} in ${cmd.dest} `;
    };
    if (fromLayers) contentKey = `${fromChain}|${cmd.sources.join('\n')}`;
    else {
      const T = trace();
      pre = await run(undefined);
      T('copy sources hashed');
      contentKey = pre.hash;
      hint = describe(pre.found);
    }
    return this.#cached(stage, st, cmd, [], contentKey, async () => withSourceRoot(async (sourceRoot) => {
      // Context sources were found (and URLs fetched) for the cache key already.
      const { found } = pre ?? await run(sourceRoot);
      const layer = await this.#inRootfs(st, async (root) => {
        let uid = 0;
        let gid = 0;
        if (cmd.chown) {
          const passwd = await readRootfsFile(root, '/etc/passwd');
          const group = await readRootfsFile(root, '/etc/group');
          try {
            const u = lookupUser(cmd.chown, passwd === null ? null : parsePasswd(passwd), group === null ? null : parseGroup(group));
            uid = u.uid;
            gid = cmd.chown.includes(':') ? u.gid : u.uid === 0 ? 0 : u.gid;
            if (!cmd.chown.includes(':')) gid = /^\d+$/.test(cmd.chown) ? u.uid : u.gid;
          } catch (e) {
            throw invalid(`${what} failed: unable to convert uid/gid chown string to host mapping: ${(e as Error).message}`);
          }
        }
        // On disk as host IDs under --userns-remap (the layer's tar carries the container's again).
        const wo = { ...(this.#d.idMap ? this.#d.idMap.toHost(uid, gid) : { uid, gid }), mode, idMap: this.#d.idMap };
        for (const s of cmd.sources) {
          if (!isHeredoc(s)) continue;
          const h = heredocs.get(s.replace(/^<<-?(["']?)(.*)\1$/, '$2'))!;
          const content = h.expand ? expandHeredoc(h.content, env) : h.content;
          await writeHeredoc(root, destIsDir ? posix.join(dest, h.name) : dest, content, wo);
        }
        for (const f of found) {
          if (cmd.kind === 'add' && !f.url && !f.src.dir) {
            const kind = await archiveKind(f.src.host);
            if (kind) { await extractArchive(root, f.src.host, kind, dest, { ...wo, keepOwner: !cmd.chown }); continue; }
          }
          if (f.url) {
            await copySource(root, f.src, dest, destIsDir, { ...wo, mode: mode ?? 0o600 });
            continue;
          }
          await copySource(root, f.src, dest, destIsDir || multi, wo);
        }
      });
      return this.#next(st, clone(st.config), describe(found), layer);
    }), hint);
  }

  // ---------------------------------------------------------------------------- filesystem

  /**
   * Mounts a fresh rw layer over the state's layers, lets `fn` change it, and commits the
   * change as a new layer (undefined when nothing changed). `mountpoints`: paths the runtime
   * may have created as mount targets; they are dropped from the diff unless the image has them.
   */
  async #inRootfs(st: State, fn: (root: string, scratch: string) => Promise<void>, mountpoints: string[] = []): Promise<LayerRef | undefined> {
    const snap = this.#d.snapshotter;
    const parent = st.layers.length ? st.layers[st.layers.length - 1].chainId : undefined;
    const scratch = join(this.#dir, `scratch-${randomBytes(8).toString('hex')}`);
    await mkdir(scratch, { recursive: true });
    try {
      return await this.#mounted(st.layers, async (root, key) => {
        await fn(root, scratch);
        await unmount(root);
        const upper = snap.upperPath(key);
        if (mountpoints.length) await dropMountpoints(upper, await snap.layerPaths(parent), mountpoints);
        if ((await readdir(upper)).length === 0) return undefined;
        return this.#commit(upper, parent);
      });
    } finally {
      // Under the build's own dir, removed with it (and by cleanup() at the next start).
      await rm(scratch, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** A read-only look at a layer chain (COPY --from): a throwaway rw layer, never committed. */
  #view<T>(layers: LayerRef[], fn: (root: string) => Promise<T>): Promise<T> {
    return this.#mounted(layers, (root) => fn(root));
  }

  /**
   * A fresh rw layer (key `build-…`, which a restarted daemon cleans up) over a layer chain,
   * mounted for `fn`; unmounted (if `fn` did not) and removed afterwards.
   */
  async #mounted<T>(layers: LayerRef[], fn: (root: string, key: string) => Promise<T>): Promise<T> {
    const snap = this.#d.snapshotter;
    const key = `build-${randomBytes(8).toString('hex')}`;
    await snap.prepare(key, layers.length ? layers[layers.length - 1].chainId : undefined);
    const root = snap.rootfsPath(key);
    let mounted = false;
    try {
      await mkdir(root, { recursive: true });
      await mountOverlay(root, await snap.mounts(key));
      mounted = true;
      return await fn(root, key);
    } finally {
      // unmount of a target that is not mounted (fn unmounted it) is not an error; a `build-` layer
      // that fails to go is removed by the engine's build cleanup at the next start.
      if (mounted) await unmount(root, { lazy: true }).catch(() => {});
      await snap.remove(key).catch(() => {});
    }
  }

  /** The upper dir becomes a layer: its tar is stored as the blob and unpacked as the layer, in one pass. */
  async #commit(upper: string, parent: string | undefined): Promise<LayerRef> {
    const [a, b] = tee(createLayerTar(upper, { idMap: this.#d.idMap }));
    const [blob, layer] = await Promise.all([this.#d.content.ingest(a), this.#d.snapshotter.createLayer(parent, b)]);
    if (blob.digest !== layer.diffId) throw new Error(`layer commit: blob ${blob.digest} != diff ${layer.diffId}`);
    return { diffId: layer.diffId, chainId: chainIdOf(parent, layer.diffId), blob: blob.digest, mediaType: OCI_LAYER, size: blob.size, unpackedSize: layer.size };
  }
}

// ------------------------------------------------------------------------------ helpers

/** BERTH_TRACE=1: phase timings on stderr (the daemon's log). */
function trace(): (what: string) => void {
  if (!process.env.BERTH_TRACE) return () => {};
  let t = performance.now();
  return (what) => {
    const now = performance.now();
    process.stderr.write(`build: ${what} ${(now - t).toFixed(1)} ms\n`);
    t = now;
  };
}

/** What a RUN executes: exec form as is, shell form through SHELL, heredoc scripts. */
function runArgv(cmd: Extract<Command, { kind: 'run' }>, c: ContainerConfig): { argv: string[]; script?: { name: string; content: string } } {
  if (!cmd.shell) return { argv: [...cmd.args] };
  if (cmd.heredocs.length === 1 && /^<<-?(["']?)[^\s"']+\1$/.test(cmd.args[0].trim())) {
    // `RUN <<EOF ... EOF`: the heredoc is the script; a `#!` line picks its interpreter.
    const h = cmd.heredocs[0];
    if (h.content.startsWith('#!')) return { argv: [`/dev/pipes/${h.name}`], script: { name: h.name, content: h.content } };
    return { argv: [...shellOf(c), h.content] };
  }
  if (cmd.heredocs.length) return { argv: [...shellOf(c), [cmd.args[0], ...cmd.heredocs.map((h) => `${h.content}${h.name}`)].join('\n')] };
  return { argv: [...shellOf(c), cmd.args[0]] };
}

/**
 * The command a step's container config records, from its history text (Docker's legacy forms):
 * `/bin/sh -c #(nop)  ENV a=b` (a metadata step) is ["/bin/sh", "-c", "#(nop) ", "ENV a=b"];
 * `/bin/sh -c #(nop) COPY file:… in /x ` is ["/bin/sh", "-c", "#(nop) COPY file:… in /x "].
 */
function stepCmd(createdBy: string): string[] {
  const nop = '/bin/sh -c #(nop) ';
  if (createdBy.startsWith(`${nop} `)) return ['/bin/sh', '-c', '#(nop) ', createdBy.slice(nop.length + 1)];
  if (createdBy.startsWith(nop)) return ['/bin/sh', '-c', createdBy.slice('/bin/sh -c '.length)];
  return ['/bin/sh', '-c', createdBy];
}

type HistoryEntry = NonNullable<ImageConfigFile['history']>[number];

/** Two history entries alike as Go's reflect.DeepEqual sees them (empty_layer false = absent). */
function sameHistoryEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  return (a.created ?? '') === (b.created ?? '') && (a.created_by ?? '') === (b.created_by ?? '') && (a.author ?? '') === (b.author ?? '') &&
    (a.comment ?? '') === (b.comment ?? '') && !!a.empty_layer === !!b.empty_layer;
}

/** History's `created_by` for a RUN (Docker's legacy form, build args as `|N a=b ...`). */
function runCreatedBy(argv: string[], runArgs: string[]): string {
  const shown = argv.join(' ');
  return runArgs.length ? `|${runArgs.length} ${runArgs.join(' ')} ${shown}` : shown;
}

function isCancel(e: unknown): boolean { return isEngineError(e) && e.code === 'Canceled'; }
function cancelled(): EngineError { return new EngineError('System', 'build canceled', { code: 'Canceled' }); }

function clone<T>(x: T): T { return JSON.parse(JSON.stringify(x)) as T; }

function shellOf(c: ContainerConfig): string[] { return c.Shell?.length ? c.Shell : ['/bin/sh', '-c']; }

/** Go's `%q` of a []string: `["a" "b"]`. */
function goQuoteList(a: string[]): string { return `[${a.map((s) => JSON.stringify(s)).join(' ')}]`; }

function nsText(ns: number | undefined): string {
  if (!ns) return '0s';
  return `${ns / 1e9}s`;
}

function expandPort(p: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p.trim());
  if (!m) throw invalid(`Invalid containerPort: ${p}`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  if (lo < 1 || hi > 65535 || hi < lo) throw invalid(`Invalid containerPort: ${p}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let x = lo; x <= hi; x++) out.push(`${x}/${proto}`);
  return out;
}

function checkPlatform(p: string): void {
  const v = p.toLowerCase();
  if (!['linux', 'linux/amd64', 'linux/x86_64', 'linux/x86-64'].includes(v)) {
    throw invalid(`"${p}" is not a valid platform for this host (${HOST_PLATFORM}): only ${HOST_PLATFORM} images can be built here`);
  }
}

function expandGlobal(word: string, args: Map<string, string | undefined>, escape: '\\' | '`'): string {
  try { return new ShellLex(escape).processWord(word, Object.fromEntries(args)); } catch { return word; }
}

function familiarTag(t: string): string {
  // `t` was validated by the router; show it as given, with :latest when no tag (Docker's text).
  const lastSlash = t.lastIndexOf('/');
  return t.slice(lastSlash + 1).includes(':') || t.includes('@') ? t : `${t}:latest`;
}

function hostsFile(extra: string[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const e of extra) {
    const i = e.indexOf(':');
    if (i > 0) lines.push(`${e.slice(i + 1)}\t${e.slice(0, i)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * A RUN step's resolv.conf: the host's without loopback resolvers, or on a user network its
 * embedded DNS (`embedded`), the host's search domains and `ndots:0`, as a container gets it.
 */
async function hostResolvConf(embedded?: string[]): Promise<string> {
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => ''); // none on the host: the step's has no nameserver
  if (embedded?.length) {
    return [...embedded.map((d) => `nameserver ${d}`), ...host.split('\n').filter((l) => /^\s*search\s/.test(l)), 'options ndots:0'].join('\n') + '\n';
  }
  return host.split('\n').filter((l) => l && !/^\s*nameserver\s+(127\.|::1)/.test(l)).join('\n') + '\n';
}

/**
 * Drops from a step's upper dir the mount targets the runtime created (empty files or
 * directories the image does not have), so they don't end up in the layer (Docker keeps them in
 * a separate init layer for the same reason).
 */
async function dropMountpoints(upper: string, lowers: string[], paths: string[]): Promise<void> {
  const inLower = async (rel: string) => {
    for (const l of lowers) {
      try { await lstat(join(l, rel)); return true; } catch { /* next */ }
    }
    return false;
  };
  for (const p of paths) {
    const rel = p.replace(/^\/+/, '');
    const host = join(upper, rel);
    let st;
    try { st = await lstat(host); } catch { continue; } // not created: nothing to drop
    if (await inLower(rel)) continue;
    if (st.isFile() && st.size === 0) await rm(host, { force: true });
    else if (st.isDirectory() && (await readdir(host)).length === 0) await rmdir(host).catch(() => {}); // best effort: at worst the layer keeps an empty dir
    // Parent directories made only to hold the mount target go too.
    let parent = posix.dirname(rel);
    while (parent !== '.' && parent !== '/') {
      const ph = join(upper, parent);
      try {
        if ((await readdir(ph)).length || (await inLower(parent))) break;
        await rmdir(ph);
      } catch { break; } // best effort, as above: the parent stays
      parent = posix.dirname(parent);
    }
  }
}

