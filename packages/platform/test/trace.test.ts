import { PassThrough } from 'node:stream';
import {
  createLogger,
  parseTraceparent,
  requestContext,
  requestScope,
  traceFields,
} from '@eventpipe/platform';

const ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('W3C traceparent', () => {
  it('when a traceparent is valid, then its trace id, span id and sampled flag are read', () => {
    expect(parseTraceparent(`00-${ID}-00f067aa0ba902b7-01`)).toEqual({
      traceId: ID,
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(parseTraceparent(`00-${ID}-00f067aa0ba902b7-00`)?.sampled).toBe(false);
  });

  it.each([
    ['', 'empty'],
    [`00-${ID}-00f067aa0ba902b7`, 'no flags'],
    [`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, 'all-zero trace id'],
    [`00-${ID}-${'0'.repeat(16)}-01`, 'all-zero span id'],
    [`ff-${ID}-00f067aa0ba902b7-01`, 'version ff'],
    [`00-${ID.toUpperCase()}-00f067aa0ba902b7-01`, 'upper case'],
    [`00-${ID}-00f067aa0ba902b7-01-extra`, 'version 00 with more fields'],
  ])('when the value is %s (%s), then it is ignored', (value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('when a project is known, then the trace field is the full Cloud Trace name', () => {
    expect(traceFields(parseTraceparent(`00-${ID}-00f067aa0ba902b7-01`), 'my-proj')).toEqual({
      'logging.googleapis.com/trace': `projects/my-proj/traces/${ID}`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    });
    expect(traceFields(parseTraceparent('garbage'), 'my-proj')).toEqual({});
  });

  it('when a line is logged inside a traced request, then it carries the trace fields', async () => {
    const out = new PassThrough();
    const logger = createLogger({ service: 't', destination: out, project: 'p1' });
    requestContext.run(requestScope('r1', `00-${ID}-00f067aa0ba902b7-01`), () =>
      logger.info('hello'),
    );
    logger.info('outside');
    const lines = (out.read() as Buffer)
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      requestId: 'r1',
      'logging.googleapis.com/trace': `projects/p1/traces/${ID}`,
    });
    expect(lines[1]!['logging.googleapis.com/trace']).toBeUndefined();
  });
});
