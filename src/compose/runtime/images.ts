// Making sure every service's image exists before containers are created (compose's
// ensureImagesExists): the local images are looked up, what the pull policy asks for is pulled
// (a missing image by default), what must be built is built, and the image IDs are returned —
// compose labels each container with its image's ID (com.docker.compose.image) and recreates
// the container when that ID changes.
//
//   const ids = await ensureImages(s, project, { build: true, quietPull: false, w });
//   ids['busybox'] → 'sha256:…'
import { ComposeError } from '../errors.ts';
import { imageName, type Project, type Service } from '../model.ts';
import { isNotFound } from './api.ts';
import { eachLimited } from './graph.ts';
import type { ProgressWriter } from './progress.ts';
import type { Session } from './session.ts';

interface LocalImage { id: string; lastTagTime?: number }

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** compose-go's GetPullPolicy: the policy and, for refresh policies, how old an image may be (ms). */
export function pullPolicy(s: Pick<Service, 'pullPolicy'>): { policy: string; maxAge?: number } {
  const p = s.pullPolicy ?? 'missing';
  if (p === 'daily') return { policy: 'refresh', maxAge: 86_400_000 };
  if (p === 'weekly') return { policy: 'refresh', maxAge: 7 * 86_400_000 };
  if (p.startsWith('every_')) {
    let ms = 0;
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g;
    let m: RegExpExecArray | null;
    let rest = p.slice('every_'.length);
    while ((m = re.exec(rest))) ms += Number(m[1]) * UNITS[m[2]];
    rest = rest.replace(re, '');
    if (rest !== '' || ms === 0) throw new ComposeError(`invalid pull policy: ${p}`);
    return { policy: 'refresh', maxAge: ms };
  }
  if (p === 'if_not_present') return { policy: 'missing' };
  return { policy: p };
}

/** compose's mustPull. */
export function mustPull(s: Service, images: Record<string, LocalImage>, now = Date.now()): boolean {
  if (!s.image) return false;
  const { policy, maxAge } = pullPolicy(s);
  switch (policy) {
    case 'always': return true;
    case 'never':
    case 'build': return false;
    case 'refresh': {
      const img = images[s.image];
      if (!img) return true;
      return now > (img.lastTagTime ?? 0) + (maxAge ?? 0);
    }
    default: return !images[s.image];
  }
}

/** Another service (or this one) can build the image: a failed pull is not fatal then. */
function canBuild(s: Service, project: Project): boolean {
  if (s.build) return true;
  return Object.values(project.services).some((x) => x.image === s.image && x.build);
}

export interface EnsureImagesOptions {
  /** false: --no-build (nothing is built, even a missing image). */
  build: boolean;
  quietPull: boolean;
  quietBuild?: boolean;
  w: ProgressWriter;
}

async function localImages(s: Session, names: string[]): Promise<Record<string, LocalImage>> {
  const out: Record<string, LocalImage> = {};
  await Promise.all(names.map(async (name) => {
    try {
      const i = await s.api.inspectImage(name);
      const t = i.Metadata?.LastTagTime ? Date.parse(i.Metadata.LastTagTime) : undefined;
      out[name] = { id: i.Id, lastTagTime: Number.isNaN(t) ? undefined : t };
    } catch (e) {
      if (isNotFound(e)) return;
      throw new ComposeError(`unable to get image '${name}': ${(e as Error).message}`);
    }
  }));
  return out;
}

export async function ensureImages(s: Session, project: Project, o: EnsureImagesOptions): Promise<Record<string, string>> {
  const services = Object.values(project.services);
  const names = [...new Set(services.map((x) => imageName(project, x)))];
  const images = await localImages(s, names);

  const toPull = services.filter((x) => mustPull(x, images));
  // Several services may share one image: pull it once.
  const byImage = new Map<string, Service>();
  for (const x of toPull) if (!byImage.has(x.image!)) byImage.set(x.image!, x);
  await eachLimited([...byImage.values()], s.parallel, async (x) => {
    try {
      const id = await s.hooks.pull(s, { project, service: x, quiet: o.quietPull, w: o.w });
      if (id) images[x.image!] = { id, lastTagTime: Date.now() };
    } catch (e) {
      if (!canBuild(x, project)) throw e;
    }
  });

  if (o.build) {
    const toBuild = services.filter((x) => x.build && (!images[imageName(project, x)] || x.pullPolicy === 'build'));
    if (toBuild.length) {
      const built = await s.hooks.build(s, { project, services: toBuild, w: o.w, quiet: o.quietBuild });
      for (const [name, id] of Object.entries(built)) images[name] = { id, lastTagTime: Date.now() };
    }
  }

  const ids: Record<string, string> = {};
  for (const [name, img] of Object.entries(images)) ids[name] = img.id;
  return ids;
}
