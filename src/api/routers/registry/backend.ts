import type { AuthConfig } from '../../../registry/client/auth.ts';

type Emit = (m: Record<string, unknown>) => void;

/** What the registry routes need: push, login, and the remote view of an image. */
export interface RegistryBackend {
  /** Throws NotFound ("An image does not exist locally with the tag: …") before any output. */
  push(name: string, o: { tag?: string; auth?: AuthConfig; signal?: AbortSignal; emit: Emit }): Promise<void>;
  login(auth: AuthConfig): Promise<{ IdentityToken: string }>;
  distribution(name: string, auth: AuthConfig, signal?: AbortSignal): Promise<Record<string, unknown>>;
}
