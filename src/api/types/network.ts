// Network wire types (spec: NetworkCreateRequest, IPAMConfig): a leaf, as moby's
// api/types/network; src/network implements them, the networks router reads them.

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
