// `-p` / compose `ports:` short syntax, parsed as docker's go-connections nat.ParsePortSpec does
// (the docker CLI and compose-go both use it): `[ip:][hostPort:]containerPort[/proto]`, ranges on
// either side, IPv6 host IPs with or without brackets. Shared by the CLI (`run -p`) and compose;
// errors are InvalidParameter with go-connections' texts.
//
//   parsePortSpec('127.0.0.1:8000-8001:80-81/udp')
//   → [{ port: '80/udp', hostIp: '127.0.0.1', hostPort: '8000' }, { port: '81/udp', hostIp: '127.0.0.1', hostPort: '8001' }]
import { isIP } from 'node:net';
import { invalid } from './errors.ts';

/** Parses `80` or `8000-8010` into [start, end]; undefined when invalid. */
export function parsePortRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) return undefined;
  return [a, b];
}

export interface PortMapping { port: string; hostIp: string; hostPort: string }

export function parsePortSpec(raw: string): PortMapping[] {
  const parts = raw.split(':');
  const n = parts.length;
  let rawIp = '';
  let hostPort = '';
  let containerPort = parts[n - 1];
  if (n === 2) hostPort = parts[0];
  else if (n === 3) { rawIp = parts[0]; hostPort = parts[1]; }
  else if (n > 3) { rawIp = parts.slice(0, n - 2).join(':'); hostPort = parts[n - 2]; }
  let proto = 'tcp';
  const slash = containerPort.indexOf('/');
  if (slash >= 0) {
    proto = containerPort.slice(slash + 1);
    containerPort = containerPort.slice(0, slash);
  }
  let ip = rawIp;
  if (ip[0] === '[') {
    // go-connections strips the brackets with net.SplitHostPort(ip + ":"), and passes its errors on.
    const close = ip.indexOf(']');
    if (close < 0) throw invalid(`invalid IP address ${ip}: address ${ip}:: missing ']' in address`);
    if (close !== ip.length - 1) throw invalid(`invalid IP address ${ip}: address ${ip}:: missing port in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && !isIP(ip)) throw invalid(`invalid IP address: ${ip}`);
  if (containerPort === '') throw invalid(`no port specified: ${raw}<empty>`);
  const cr = parsePortRange(containerPort);
  if (!cr) throw invalid(`invalid containerPort: ${containerPort}`);
  let hr: [number, number] = [0, 0];
  if (hostPort !== '') {
    const r = parsePortRange(hostPort);
    if (!r) throw invalid(`invalid hostPort: ${hostPort}`);
    hr = r;
  }
  if (hostPort !== '' && cr[1] - cr[0] !== hr[1] - hr[0] && cr[1] !== cr[0]) {
    throw invalid(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const p = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(p)) throw invalid(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= cr[1] - cr[0]; i++) {
    let hp = hostPort === '' ? '' : String(hr[0] + i);
    // A single container port with a host range: the range is where the daemon picks one.
    if (cr[0] === cr[1] && hr[0] !== hr[1]) hp = `${hp}-${hr[1]}`;
    out.push({ port: `${cr[0] + i}/${p}`, hostIp: ip, hostPort: hp });
  }
  return out;
}
