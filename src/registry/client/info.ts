// `/info`'s RegistryConfig as dockerd (28) shows it: the insecure CIDRs (loopback by default),
// an IndexConfig per named registry (docker.io always, with the mirrors), the mirrors.
import { isIP } from 'node:net';

export function registryConfigInfo(s: { mirrors: string[]; insecure: string[] }): Record<string, unknown> {
  const cidrs = s.insecure.filter((e) => e.includes('/') && isIP(e.split('/')[0]));
  const hosts = s.insecure.filter((e) => !cidrs.includes(e));
  const index: Record<string, unknown> = {};
  for (const h of hosts) index[h] = { Name: h, Mirrors: [], Secure: false, Official: false };
  index['docker.io'] = { Name: 'docker.io', Mirrors: [...s.mirrors], Secure: true, Official: true };
  return {
    AllowNondistributableArtifactsCIDRs: null,
    AllowNondistributableArtifactsHostnames: null,
    InsecureRegistryCIDRs: [...new Set([...cidrs, '::1/128', '127.0.0.0/8'])],
    IndexConfigs: index,
    Mirrors: [...s.mirrors],
  };
}
