// Network wire types (moby's api/types/network), leaves like the rest of api/types:
// EndpointConfig is Docker's EndpointSettings as a client sends it (create's NetworkingConfig,
// network connect); EndpointState is what the engine records for a live endpoint, from which
// inspect's NetworkSettings.Networks is written; NetworkCreateRequest and IPAMConfig are the
// networks router's bodies, which src/network implements.

/** Docker's EndpointSettings as a client sends it (create's NetworkingConfig, connect). */
export interface EndpointConfig {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  Links?: string[] | null;
  MacAddress?: string;
  NetworkID?: string;
  DriverOpts?: Record<string, string> | null;
}

/** A live endpoint: the container's address on one network (inspect's NetworkSettings.Networks). */
export interface EndpointState {
  network: string;
  networkId: string;
  endpointId: string;
  ip: string;
  prefixLen: number;
  /** '' on --internal networks (no default route). */
  gateway: string;
  /** The container's IPv6 address on an IPv6 network (GlobalIPv6Address), its prefix length
   *  and the IPv6 gateway ('' on --internal networks). */
  ip6?: string;
  prefixLen6?: number;
  gateway6?: string;
  mac: string;
  aliases: string[];
  dnsNames: string[];
  /** NetworkSettings.Ports (only on the endpoint that publishes). */
  portMap?: Record<string, { HostIp: string; HostPort: string }[] | null>;
}

/** One `IPAM.Config` entry (spec: IPAMConfig). */
export interface IpamConfig { Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }

/** `POST /networks/create`'s body (spec: NetworkCreateRequest). */
export interface NetworkCreateRequest {
  Name?: string;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  EnableIPv6?: boolean;
  EnableIPv4?: boolean;
  IPAM?: { Driver?: string; Config?: IpamConfig[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
