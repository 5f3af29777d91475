// How Go's encoding/json writes the values of moby's API structs, for the wire shapes that
// follow them (container and image inspect, networks).

/**
 * Go's omitempty: nil pointers, false, 0, "", empty slices and maps. `pointer`: the field is a
 * Go pointer, left out only when nil (a pointer to 0, false or an empty struct is kept).
 */
export function goEmpty(v: unknown, pointer = false): boolean {
  if (v === undefined || v === null) return true;
  if (pointer) return false;
  if (v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v as object).length === 0;
}

/**
 * A time as Go's RFC3339Nano prints it: the fraction without trailing zeros (and without the dot
 * when nothing is left). berth's records hold JavaScript ISO strings (`.120Z`).
 */
export function goTime(s: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return s;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return `${m[1]}${frac ? `.${frac}` : ''}${m[3]}`;
}
