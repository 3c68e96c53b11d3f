import { keysFileWarning, loadApiKeys, type ApiKey } from './auth';

export interface AuthEnv {
  API_KEYS?: string | undefined;
  API_KEYS_FILE?: string | undefined;
  AUTH_MODE?: 'keys' | 'none' | undefined;
}

/**
 * Decides the keys a service enforces, failing closed: under production rules (isProduction) and no keys a
 * service refuses to start unless AUTH_MODE=none is set explicitly; configured keys are always
 * enforced (AUTH_MODE=none beside them is a contradiction and refused).
 */
export function resolveApiKeys(
  env: AuthEnv,
  production: boolean,
): { keys: ApiKey[]; open: boolean; warnings: string[] } {
  const keys = loadApiKeys(env.API_KEYS, env.API_KEYS_FILE);
  const fileWarning = env.API_KEYS_FILE ? keysFileWarning(env.API_KEYS_FILE) : undefined;
  if (keys.length > 0) {
    if (env.AUTH_MODE === 'none')
      throw new Error('AUTH_MODE=none but API keys are configured: remove one of them');
    return { keys, open: false, warnings: fileWarning ? [fileWarning] : [] };
  }
  if (env.AUTH_MODE === 'keys')
    throw new Error('AUTH_MODE=keys but no API_KEYS or API_KEYS_FILE is set');
  if (production && env.AUTH_MODE !== 'none') {
    throw new Error(
      'NODE_ENV asks for production rules (anything but development or test does): they require API keys (API_KEYS or API_KEYS_FILE; create one with npm run keys -- create), or AUTH_MODE=none to run open on purpose',
    );
  }
  return {
    keys,
    open: true,
    warnings: [
      production
        ? 'AUTH_MODE=none in production: the APIs are open to anyone who can reach them'
        : 'no API keys: the APIs are open to anyone who can reach them (AUTH_MODE=none)',
    ],
  };
}
