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
import { composeArgs, hostFacts } from '../../runtime/oci-spec.ts';
import { hostConfigFacts, validateHostConfig } from './host-config.ts';
import type { MountPoint } from '../../volume/volume.ts';
import type { ContainerConfig, HostConfig } from '../../api/types/container.ts';
import { parsePlatform } from '../pull.ts';
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
  const config = mergeConfig(imgCfg, o.config);
  // Every static check of HostConfig, once (host-config.ts); what needs live state follows.
  const facts = hostConfigFacts(await hostFacts(), { userNetworks: !!k.o.networking?.prepare, usernsRemap: !!k.o.idMap });
  const valid = validateHostConfig({ config, hostConfig: hc, endpoints: Object.keys(o.endpoints ?? {}) }, facts);
  Object.assign(hc, valid.hostConfig);
  const logSettings = valid.log;
  await k.o.networking?.resolveNetworks?.(hc, o.endpoints ?? {});
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
  const id = generateId();
  // Docker's newContainer: a container on the host's network is named like the host.
  config.Hostname ||= (hc.NetworkMode === 'host' ? hostHostname() : id.slice(0, 12));
  const args = composeArgs(config);
  const dir = join(k.dir, id);
  // The name is held before any await that could interleave with another create.
  k.names.set(name, id);
  let mounts: MountPoint[] = [];
  try {
    mounts = await k.o.volumes.resolveMounts(config, valid.mounts, (ref) => k.get(ref).rec.Mounts ?? []);
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
