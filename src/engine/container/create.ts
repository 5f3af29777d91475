// `create`: the name, the image (and platform), the HostConfig checks of create time, the image
// config merged under the container's, the rw layer and the files bound in, then the record,
// whose atomic write is the commit point.
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { conflict, invalid, notFound } from '../../common/errors.ts';
import { generateId, generateName, validateName } from '../../common/names.ts';
import { parseLink } from '../../common/links.ts';
import { fsyncDir } from '../../store/metadata/atomic.ts';
import { composeArgs, validateSpecConfig } from '../../runtime/oci-spec.ts';
import type { MountPoint } from '../../volume/volume.ts';
import type { ContainerConfig, HostConfig } from '../../api/types/container.ts';
import { parsePlatform } from '../pull.ts';
import { parseLogConfig } from '../log-rotation.ts';
import type { EndpointConfig } from '../../api/types/network.ts';
import { Container, type ContainerRecord, type Core } from './record.ts';
import { createdState } from './state.ts';
import { extraHostsOf, hostsFile, resolvConf } from './network.ts';

export interface CreateOptions { name?: string; config: ContainerConfig; hostConfig: HostConfig; platform?: string; endpoints?: Record<string, EndpointConfig> }

export async function create(k: Core, o: CreateOptions): Promise<{ Id: string; Warnings: string[] }> {
  const warnings: string[] = [];
  let name = o.name;
  if (name) {
    validateName(name);
    name = name.startsWith('/') ? name : `/${name}`;
    const holder = k.names.get(name);
    if (holder) throw conflict(`Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
  } else {
    do name = `/${generateName()}`; while (k.names.has(name));
  }
  if (!o.config.Image) throw invalid('No image specified');
  const want = o.platform ? parsePlatform(o.platform) : undefined;
  const image = k.images.tryResolve(o.config.Image);
  if (!image) throw notFound(`No such image: ${familiarOrRaw(o.config.Image)}`);
  const imgFile = await k.images.config(image.id);
  // Docker's GetImage with a platform: a local image of another platform is NotFound (404), so
  // the docker CLI goes on to pull the one asked for (with a 400 it gave up).
  if (want && (want.os !== (imgFile.os || 'linux') || want.architecture !== (imgFile.architecture || 'amd64'))) {
    throw notFound(`image with reference ${o.config.Image} was found but does not match the specified platform: wanted ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''}, actual: ${imgFile.os || 'linux'}/${imgFile.architecture || 'amd64'}`);
  }
  const imgCfg = imgFile.config ?? {};
  const hc: HostConfig = { ...o.hostConfig };
  const runtime = hc.Runtime || k.o.defaultRuntime;
  k.runtimeOf(runtime);
  hc.Runtime = runtime;
  validateHostConfig(hc, !!k.o.networking?.prepare, !!k.o.idMap);
  const networks = k.o.networking?.prepare ? k.o.networking.prepare(hc, o.endpoints ?? {}) : undefined;
  // Legacy links are the default bridge's (Docker's registerLinks skips a user-defined network
  // mode, whose links are EndpointSettings.Links aliases). A missing target is a bad parameter,
  // not a 404, or the docker CLI would go and pull the image (moby#39823).
  if (!isUserDefinedMode(hc.NetworkMode)) {
    for (const l of hc.Links ?? []) {
      const [target] = parseLink(l);
      if (!k.find(target)) throw invalid(`could not get container for ${target}: No such container: ${target}`);
    }
  }
  // Docker's texts for bad --log-opt values; inspect shows the driver and options in effect.
  const logSettings = parseLogConfig(hc.LogConfig);
  hc.LogConfig = { Type: hc.LogConfig?.Type || 'json-file', Config: hc.LogConfig?.Config ?? {} };
  // Docker keeps HostConfig as its Go struct, so every port binding has both fields on the wire
  // (`[{"HostPort":"0"}]`, as Testcontainers sends it, reads back with `"HostIp":""`).
  if (hc.PortBindings) {
    hc.PortBindings = Object.fromEntries(Object.entries(hc.PortBindings).map(([p, list]) => {
      if (list !== null && !Array.isArray(list)) throw invalid('json: cannot unmarshal into Go struct field HostConfig.PortBindings of type []nat.PortBinding');
      return [p, list && list.map((b) => ({ HostIp: b?.HostIp ?? '', HostPort: b?.HostPort ?? '' }))];
    }));
  }
  const config = mergeConfig(imgCfg, o.config);
  // Docker's runconfig.validateNetMode: a name of its own means nothing in the host's UTS namespace.
  if (hc.UTSMode === 'host' && config.Hostname) throw invalid('conflicting options: hostname and the UTS mode');
  const id = generateId();
  // Docker's newContainer: a container on the host's network is named like the host.
  config.Hostname ||= (hc.NetworkMode === 'host' ? hostHostname() : id.slice(0, 12));
  const args = composeArgs(config);
  // Bad resources, users, caps, sysctls fail `create` (as Docker), not a later `start`.
  await validateSpecConfig(config, hc);
  const dir = join(k.dir, id);
  // The name is held before any await that could interleave with another create.
  k.names.set(name, id);
  let mounts: MountPoint[] = [];
  try {
    mounts = await k.o.volumes.resolveMounts(config, hc, (ref) => k.get(ref).rec.Mounts ?? []);
    await mkdir(dir, { recursive: true });
    await k.snap.prepare(id, k.images.topChain(image));
    const netMode = hc.NetworkMode || 'default';
    await writeFile(join(dir, 'hostname'), `${netMode === 'host' ? hostHostname() : config.Hostname}\n`);
    // A host without /etc/hosts: the container's is empty, as the host's.
    await writeFile(join(dir, 'hosts'), netMode === 'host' ? await readFile('/etc/hosts', 'utf8').catch(() => '') : hostsFile(extraHostsOf(k, hc)));
    await writeFile(join(dir, 'resolv.conf'), await resolvConf(hc));
    // Bound into the container: its root may write them (Docker chowns them to the remapped root).
    if (k.userns(hc)) for (const f of ['hostname', 'hosts', 'resolv.conf']) await chown(join(dir, f), k.o.idMap!.root.uid, k.o.idMap!.root.gid);
    const rec: ContainerRecord = {
      ID: id,
      Created: new Date().toISOString(),
      Path: args[0],
      Args: args.slice(1),
      State: createdState(),
      Image: image.id,
      Name: name,
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      Config: config,
      HostConfig: hc,
      LogPath: logSettings.driver === 'none' ? '' : join(dir, `${id}-json.log`),
      HostnamePath: join(dir, 'hostname'),
      HostsPath: join(dir, 'hosts'),
      ResolvConfPath: join(dir, 'resolv.conf'),
      Mounts: mounts,
      berth: { runtime, manuallyStopped: false, hasBeenStarted: false, ...(networks ? { networks } : {}) },
    };
    const c = new Container(rec);
    // The commit point: once config.json is on disk the container exists.
    await k.save(c);
    await fsyncDir(k.dir);
    k.add(c);
  } catch (e) {
    k.names.delete(name);
    await k.cleanupDebris(id);
    // Best effort: the create's own error is the one to report; an anonymous volume left
    // behind is what `volume prune` removes.
    await k.o.volumes.removeAnonymous(mounts, id).catch(() => {});
    throw e;
  }
  k.events.emit('container', 'create', id, { image: o.config.Image, name: name.slice(1), ...(config.Labels ?? {}) });
  return { Id: id, Warnings: warnings };
}

function familiarOrRaw(s: string): string {
  return /[:@]/.test(s.split('/').pop() ?? '') ? s : `${s}:latest`;
}

/** Image defaults under the container's own config, as Docker merges them at create. */
export function mergeConfig(img: ContainerConfig, ctr: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { ...ctr };
  const env = new Map<string, string>();
  for (const e of [...(img.Env ?? []), ...(ctr.Env ?? [])]) env.set(e.split('=')[0], e);
  out.Env = [...env.values()];
  const ctrHasEntrypoint = Array.isArray(ctr.Entrypoint) && ctr.Entrypoint.length > 0;
  const ctrHasCmd = Array.isArray(ctr.Cmd) && ctr.Cmd.length > 0;
  if (!ctrHasEntrypoint && !(Array.isArray(ctr.Entrypoint) && ctr.Entrypoint.length === 0 && ctr.Entrypoint !== null)) {
    out.Entrypoint = img.Entrypoint ?? null;
    if (!ctrHasCmd) out.Cmd = img.Cmd ?? null;
  }
  if (Array.isArray(ctr.Entrypoint) && ctr.Entrypoint.length === 0) out.Entrypoint = null; // --entrypoint ""
  out.WorkingDir = ctr.WorkingDir || img.WorkingDir || '';
  out.User = ctr.User || img.User || '';
  out.Labels = { ...(img.Labels ?? {}), ...(ctr.Labels ?? {}) };
  out.ExposedPorts = { ...(img.ExposedPorts ?? {}), ...(ctr.ExposedPorts ?? {}) };
  out.Volumes = { ...(img.Volumes ?? {}), ...(ctr.Volumes ?? {}) };
  if (!ctr.StopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  if (!ctr.Healthcheck && img.Healthcheck) out.Healthcheck = img.Healthcheck;
  if (!ctr.Shell && img.Shell) out.Shell = img.Shell;
  if (img.OnBuild) out.OnBuild = null;
  out.Tty = !!ctr.Tty;
  out.OpenStdin = !!ctr.OpenStdin;
  out.StdinOnce = !!ctr.StdinOnce;
  out.AttachStdin = !!ctr.AttachStdin;
  out.AttachStdout = ctr.AttachStdout ?? false;
  out.AttachStderr = ctr.AttachStderr ?? false;
  out.Domainname = ctr.Domainname ?? '';
  out.Hostname = ctr.Hostname ?? '';
  return out;
}

/** Docker's NetworkMode.IsUserDefined: a network of the user's, not default/bridge/host/none/container:. */
function isUserDefinedMode(mode: string | undefined): boolean {
  const m = mode || 'default';
  return !['default', 'bridge', 'host', 'none'].includes(m) && !m.startsWith('container:');
}

const VALID_RESTART = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

/**
 * HostConfig.UsernsMode: empty (the daemon's default: the remapped user namespace under
 * `--userns-remap`, else the host's) or `host` (the host's, the one opt-out remapping has).
 * Anything else is refused rather than ignored (dockerd ignores it; the docker CLI refuses values
 * other than `host` with "--userns: invalid USER mode"). A privileged container needs the host's
 * user namespace when remapping is on, with dockerd's words.
 */
function checkUsernsMode(hc: HostConfig, remap: boolean): void {
  const mode = hc.UsernsMode;
  if (mode && mode !== 'host') {
    throw invalid(remap
      ? `invalid userns mode ${JSON.stringify(mode)}: use "host" to opt out of the daemon's user namespace remapping, or leave it empty`
      : `invalid userns mode ${JSON.stringify(mode)}: this daemon has no user namespace remapping (userns-remap), containers run in the host's user namespace; use "host" or leave it empty`);
  }
  if (!remap || mode === 'host') return;
  if (hc.Privileged) throw invalid('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  // A namespace owned by the host's user namespace cannot be entered from the container's
  // (runc exec joins the user namespace first), as Docker's userns-remap documents.
  for (const [m, what] of [[hc.NetworkMode, 'network'], [hc.PidMode, 'PID'], [hc.IpcMode, 'IPC'], [hc.UTSMode, 'UTS']] as const) {
    if (m === 'host') throw invalid(`Cannot share the host's ${what} namespace when user namespaces are enabled; add --userns=host to run this container in the host's user namespace`);
  }
}

export function validateHostConfig(hc: HostConfig, userNetworks: boolean, remap = false): void {
  checkUsernsMode(hc, remap);
  const rp = hc.RestartPolicy;
  if (rp) {
    if (!VALID_RESTART.has(rp.Name ?? '')) throw invalid(`invalid restart policy: unknown policy '${rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
    if ((rp.MaximumRetryCount ?? 0) < 0) throw invalid('invalid restart policy: maximum retry count must be a positive integer');
    if (rp.Name !== 'on-failure' && (rp.MaximumRetryCount ?? 0) > 0) throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    if (hc.AutoRemove && rp.Name && rp.Name !== 'no') throw invalid(`can't create 'AutoRemove' container with restart policy`);
  }
  const lt = hc.LogConfig?.Type ?? '';
  if (lt && !['json-file', 'local', 'none', 'k8s-file'].includes(lt)) throw invalid(`logger: no log driver named '${lt}' is registered`);
  const nm = hc.NetworkMode ?? '';
  if (!userNetworks && nm && !['default', 'bridge', 'none', 'host'].includes(nm) && !nm.startsWith('container:')) {
    throw notFound(`network ${nm} not found`);
  }
}
