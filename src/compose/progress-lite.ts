// Progress events of the read and one-off commands (build, pull, push, cp, run's dependencies),
// as compose's plain writer prints them on stderr: one line per event, `<id> <text> <status>`
// (Go's Println: a space before each part, so the line starts with one). The runtime's full
// display (a live view on a terminal, json) can stand in for it: both take the same events.
//
//   const p = plainProgress(process.stderr);
//   p.event({ id: 'Service web', status: 'working', text: 'Building' })  → " Service web Building \n"
//   p.tail('WARNING: ...')                                               → "WARNING: ...\n"
export type ProgressStatus = 'working' | 'done' | 'warning' | 'error';

export interface ProgressEvent {
  id: string;
  status: ProgressStatus;
  text?: string;
  statusText?: string;
}

export interface Progress {
  event(e: ProgressEvent): void;
  /** A message after the events (compose's TailMsgf). */
  tail(msg: string): void;
}

export function plainLine(e: ProgressEvent): string {
  return ` ${e.id} ${e.text ?? ''} ${e.statusText ?? ''}\n`;
}

export function plainProgress(out: { write(s: string): unknown }): Progress {
  return { event: (e) => { out.write(plainLine(e)); }, tail: (m) => { out.write(`${m}\n`); } };
}

export const quietProgress: Progress = { event: () => {}, tail: () => {} };
