import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGURATION_MD, configurationDoc, stackConfigSchema } from '@eventpipe/all-in-one';
import { auditConfigSchema } from '@eventpipe/audit';
import { replayConfigSchema } from '@eventpipe/replay';
import { loadConfig, ConfigError } from '@eventpipe/platform';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';

const root = join(__dirname, '..', '..');
const schemas = { stackConfigSchema, publisherConfigSchema, workerConfigSchema, queryConfigSchema };
const allKeys = [...new Set(Object.values(schemas).flatMap((s) => Object.keys(s.shape)))].sort();

describe('configuration docs', () => {
  const envExample = readFileSync(join(root, '.env-example'), 'utf8');
  const reference = readFileSync(CONFIGURATION_MD, 'utf8');
  const documented = [...envExample.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);

  it('when a service reads a variable, then .env-example lists it', () => {
    expect(allKeys.filter((k) => !documented.includes(k))).toEqual([]);
  });

  it('when .env-example lists a variable, then some service reads it', () => {
    expect(documented.filter((k) => !allKeys.includes(k))).toEqual([]);
  });

  it('when a service reads a variable, then docs/CONFIGURATION.md has a row for it', () => {
    expect(allKeys.filter((k) => !reference.includes(`| \`${k}\` |`))).toEqual([]);
  });

  it('when a schema changes, then docs/CONFIGURATION.md is regenerated with it (npm run docs:config)', () => {
    expect(reference).toBe(configurationDoc());
  });

  it('when the commands read a variable, then docs/CONFIGURATION.md has a row for it', () => {
    const keys = [replayConfigSchema, auditConfigSchema].flatMap((s) => Object.keys(s.shape));
    expect(keys.filter((k) => !reference.includes(`| \`${k}\` |`))).toEqual([]);
  });

  it('when every variable takes its default, then each service config parses', () => {
    for (const schema of [...Object.values(schemas), replayConfigSchema, auditConfigSchema])
      expect(() => loadConfig(schema, {})).not.toThrow();
  });

  it('when .env-example is used as it stands, then the one-process config accepts it', () => {
    const env = Object.fromEntries(
      [...envExample.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(() => loadConfig(stackConfigSchema, env)).not.toThrow();
  });

  it('when several variables are bad, then one error lists each with its description', () => {
    const err = (() => {
      try {
        loadConfig(workerConfigSchema, {
          BATCH_MAX_ROWS: '-1',
          BUS: 'memory',
          PUBSUB_EMULATOR_HOST: 'http://x',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^BATCH_MAX_ROWS="-1": .*\(Most rows per store insert\)$/m);
    expect(problems).toMatch(/^BUS="memory": .*\(A worker running alone pulls from Pub\/Sub\)$/m);
    expect(problems).toMatch(/^PUBSUB_EMULATOR_HOST="http:\/\/x": must be host:port/m);
  });
});
