// Legacy links as Docker writes them (`--link name:alias`, HostConfig.Links and
// EndpointSettings.Links): the one parser, Docker's opts.ParseLink with its texts.
import { invalid } from './errors.ts';

/**
 * `name`, `name:alias`, or the form Docker stores (`/name:/parent/alias`) → [target, alias]:
 * a bare name is its own alias; the stored form's alias is its last path element.
 */
export function parseLink(raw: string): [string, string] {
  if (raw === '') throw invalid('empty string specified for links');
  const parts = raw.split(':');
  if (parts.length > 2) throw invalid(`bad format for links: ${raw}`);
  if (parts.length === 1) return [raw, raw];
  if (parts[0].startsWith('/')) return [parts[0].slice(1), parts[1].slice(parts[1].lastIndexOf('/') + 1)];
  return [parts[0], parts[1]];
}
