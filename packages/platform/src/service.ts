import type { Express } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfigOrExit, runMain } from './config';
import { listen, type RunningServer } from './http';
import { onShutdownSignal } from './lifecycle';
import { isProduction } from './env';
import { createLogger } from './logger';
import { describeCertificate, readTlsPair, type TlsFiles } from './tls';

/** What a service's main.ts builds from its config: its apps, and how it stops. */
export interface HttpService {
  /** The apps to serve; each logs `listening` (with its url) once it accepts connections. */
  servers: { app: Express; port: number; listening: string; fields?: Record<string, unknown> }[];
  /** Runs once every server listens (the worker starts pulling here), with the servers. */
  started?: (servers: RunningServer[]) => void;
  /** Stops the service on SIGTERM/SIGINT, its servers given in the order of `servers`. */
  stop: (servers: RunningServer[]) => Promise<void>;
}

/**
 * The start-up sequence of every HTTP service (the three services' main.ts and the one-process
 * launcher): parse the environment once (exit 78 naming every bad variable), make the logger,
 * build the service, listen (HTTPS with TLS_CERT_FILE and TLS_KEY_FILE), log, and stop cleanly
 * on a signal within SHUTDOWN_TIMEOUT_MS. A failure on the way is one line on stderr and exit 1.
 */
export function runHttpService<S extends z.ZodObject>(
  name: string,
  schema: S,
  env: NodeJS.ProcessEnv,
  build: (ctx: {
    config: z.output<S>;
    logger: Logger;
    /** NODE_ENV asks for production rules (isProduction). */
    production: boolean;
  }) => Promise<HttpService>,
): void {
  runMain(name, async () => {
    // Against an emulator there are no credentials to find; without this google-auth-library
    // probes for a GCE metadata server and prints a warning for every client it builds.
    if (env.PUBSUB_EMULATOR_HOST || env.BIGQUERY_EMULATOR_HOST) {
      env.METADATA_SERVER_DETECTION ??= 'none';
    }
    const config = loadConfigOrExit(schema, env) as z.output<S> & {
      NODE_ENV?: string;
      LOG_LEVEL: string;
      HOST: string;
      SHUTDOWN_TIMEOUT_MS: number;
      GOOGLE_CLOUD_PROJECT?: string;
      TLS_CERT_FILE?: string;
      TLS_KEY_FILE?: string;
    };
    const logger = createLogger({
      service: name,
      level: config.LOG_LEVEL,
      project: config.GOOGLE_CLOUD_PROJECT,
    });
    // loadConfig saw to it that both are set or neither.
    const tlsFiles: TlsFiles | undefined =
      config.TLS_CERT_FILE && config.TLS_KEY_FILE
        ? { certFile: config.TLS_CERT_FILE, keyFile: config.TLS_KEY_FILE }
        : undefined;
    if (tlsFiles) {
      // Checked before anything is built, so a wrong path stops the start with nothing opened.
      const pair = readTlsPair(tlsFiles);
      logger.info(
        { ...tlsFiles, ...describeCertificate(pair.certificate) },
        'serving HTTPS; the certificate is reloaded when its files change',
      );
    }
    const service = await build({ config, logger, production: isProduction(config.NODE_ENV) });
    const servers: RunningServer[] = [];
    for (const s of service.servers) {
      const server = await listen(
        s.app,
        s.port,
        config.HOST,
        tlsFiles && { files: tlsFiles, logger },
      );
      servers.push(server);
      logger.info({ url: server.url, ...s.fields }, s.listening);
    }
    service.started?.(servers);
    onShutdownSignal(logger, config.SHUTDOWN_TIMEOUT_MS, () => service.stop(servers));
  });
}
