// Pulling a service's image for `up`/`create` (compose's pullServiceImage): POST /images/create,
// its progress as compose shows it (the service as the parent line, each layer under it), the
// image ID at the end. The runtime calls it through the ImageHooks of session.ts; `compose pull`
// and `run` reach it the same way.
//
//   const id = await pullServiceImage(session, { project, service, quiet: false, w });
import { ComposeError } from './errors.ts';
import { normalizeTagged } from '../common/reference.ts';
import { messageError, jsonMessages, type JsonMessage } from '../client/streams.ts';
import * as P from './runtime/progress.ts';
import { messageOf } from './runtime/convergence.ts';
import type { PullRequest, Session } from './runtime/session.ts';

export interface PullOptions {
  /** The X-Registry-Auth header for an image (the CLI's credentials). */
  registryAuth?: (image: string) => Record<string, string>;
}

const DONE_PHASES = ['Download complete', 'Already exists', 'Pull complete'];
const WORKING_PHASES = ['Downloading', 'Extracting', 'Verifying Checksum'];

/** compose's toPullProgressEvent: a layer's line under its service. */
export function pullProgressEvent(parent: string, m: JsonMessage): P.ProgressEvent | undefined {
  if (!m.id || (m.progressDetail === undefined && !m.progress)) return undefined;
  let status: P.Status = 'working';
  let percent = 0;
  let current = 0;
  let total = 0;
  const phase = m.status ?? '';
  if (WORKING_PHASES.includes(phase)) {
    current = m.progressDetail?.current ?? 0;
    total = m.progressDetail?.total ?? 0;
    if (total > 0) percent = Math.floor((current * 100) / total);
  } else if (DONE_PHASES.includes(phase)) {
    status = 'done';
    percent = 100;
  }
  if (phase.includes('Image is up to date') || phase.includes('Downloaded newer image')) { status = 'done'; percent = 100; }
  let statusText = m.progress ?? '';
  const err = messageError(m);
  if (err) { status = 'error'; statusText = err; }
  return { id: m.id, parentId: parent, current, total, percent, text: phase, status, statusText };
}

export async function pullServiceImage(s: Session, r: PullRequest, o: PullOptions = {}): Promise<string | undefined> {
  const { service, w } = r;
  const image = service.image!;
  w.event({ id: service.name, status: 'working', text: 'Pulling' });
  let ref;
  try { ref = normalizeTagged(image); } catch (e) { throw new ComposeError((e as Error).message); }
  const platform = service.platform || r.project.environment.DOCKER_DEFAULT_PLATFORM || undefined;
  const fromImage = ref.digest ? `${ref.familiarName()}@${ref.digest}` : ref.familiarName();
  let res;
  try {
    res = await s.api.client.images.create({ fromImage, tag: ref.digest ? undefined : ref.tag, platform }, { headers: o.registryAuth?.(image) ?? {} });
  } catch (e) {
    w.event({ id: service.name, status: service.build ? 'warning' : 'error', text: service.build ? 'Warning' : 'Error', statusText: messageOf(e) });
    throw e;
  }
  for await (const m of jsonMessages(res)) {
    const err = messageError(m);
    if (err) {
      w.event({ id: service.name, status: service.build ? 'warning' : 'error', text: service.build ? 'Warning' : 'Error', statusText: err });
      throw new ComposeError(err);
    }
    if (!r.quiet) {
      const e = pullProgressEvent(service.name, m);
      if (e) w.event(e);
    }
  }
  w.event({ id: service.name, status: 'done', text: 'Pulled' });
  const inspected = await s.api.inspectImage(image);
  return inspected.Id;
}
