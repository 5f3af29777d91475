// `POST /auth`: dockerd's loginV2. The registry is pinged; its challenge decides: Bearer → a
// token is fetched with the credentials (offline_token=true, client_id=docker, so a token
// server may hand back a refresh token: docker's IdentityToken); Basic → GET /v2/ with the
// credentials must answer 200. Over TLS first; plain HTTP only for an insecure registry.
import { EngineError } from '../../common/errors.ts';
import { registryHostOf, type AuthConfig } from './auth.ts';
import { RegistryClient, RegistryHttpError, RegistryTransportError, errcodeText } from './client.ts';

export async function login(auth: AuthConfig, insecure: readonly string[], signal?: AbortSignal): Promise<{ IdentityToken: string }> {
  const host = registryHostOf(auth.serveraddress);
  let client: RegistryClient;
  try {
    client = await RegistryClient.connect({ host, repo: '', actions: [], auth, insecure, offlineToken: true, signal });
  } catch (e) {
    if (e instanceof RegistryTransportError) throw new EngineError('System', e.message);
    throw e;
  }
  try {
    await client.login();
  } catch (e) {
    if (e instanceof RegistryHttpError) {
      const unauthorized = e.status === 401 || e.code === 'UNAUTHORIZED';
      const msg = e.message.startsWith('login attempt') ? e.message : `Get "${new URL('v2/', client.base).href}": ${e.errors[0] ? errcodeText(e.errors[0]) : e.message}`;
      throw new EngineError(unauthorized ? 'Unauthorized' : 'System', msg);
    }
    if (e instanceof RegistryTransportError) throw new EngineError('System', e.message);
    throw e;
  }
  return { IdentityToken: client.refreshToken ?? '' };
}
