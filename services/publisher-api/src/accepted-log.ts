import { open, type FileHandle } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '@eventpipe/platform';

/**
 * What the publisher records of each accepted request, so `npm run audit` can compare what was
 * accepted with what is stored: the receive time, the request id, and each event's source, id
 * and stored event time (its `time`, or the receive time when it had none: what the row gets).
 */
export interface AcceptedRecord {
  receivedAt: string;
  requestId?: string;
  events: [source: string, id: string, time: string][];
}

/** Where accepted records go. `record` resolves before the publisher answers 202. */
export interface AcceptedLog {
  record(entry: AcceptedRecord): Promise<void>;
  close(): Promise<void>;
}

/** One JSON line per accepted request, appended to a file. Each line is written (handed to the
 * kernel) before the 202, so a crash of the process loses none; a crash of the machine may. */
export function fileAcceptedLog(path: string): AcceptedLog {
  let file: Promise<FileHandle> | undefined;
  const handle = () => {
    if (!file) {
      mkdirSync(dirname(path), { recursive: true });
      file = open(path, 'a');
    }
    return file;
  };
  return {
    async record(entry) {
      await (await handle()).write(`${JSON.stringify(entry)}\n`);
    },
    async close() {
      if (file) await (await file).close();
    },
  };
}

/** One log line per accepted request (`accepted` holds the record), for Cloud Logging, whose
 * retention keeps it where a container's files do not last. */
export function loggerAcceptedLog(logger: Logger): AcceptedLog {
  return {
    async record(entry) {
      logger.info({ accepted: entry }, 'events accepted');
    },
    async close() {},
  };
}

/** The accepted log an ACCEPTED_LOG setting names: `off`, `log`, or a file path. */
export function acceptedLogOf(setting: string, logger: Logger): AcceptedLog | undefined {
  if (setting === 'off') return undefined;
  return setting === 'log' ? loggerAcceptedLog(logger) : fileAcceptedLog(setting);
}
