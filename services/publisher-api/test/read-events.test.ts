import { readEvents } from '../src/read-events';

const headers = (contentType: string) => ({
  headers: { 'content-type': contentType },
  headersDistinct: { 'content-type': [contentType] },
});

describe('readEvents: the data the schema check is given', () => {
  it('when a batch is read, then each event’s parsed data is the value of its data text', () => {
    const body = [
      '{"source":"/s","type":"t","data":{"n":12345678901234567890,"a":[1,{"b":null}]}}',
      '{"source":"/s","type":"t","data":null}',
      '{"source":"/s","type":"t"}',
      '{"source":"/s","type":"t","data":"text","d\\u0061ta":"escaped key wins, as the last"}',
      '{"source":"/s","type":"t","data":1,"data":{"last":true}}',
      '{"source":"/s","type":"t","data_base64":"AAE="}',
    ];
    const { events, parsedData } = readEvents(
      headers('application/json'),
      { shape: 'either' },
      Buffer.from(`[${body.join(',')}]`),
    );
    expect(parsedData).toHaveLength(events.length);
    events.forEach((event, i) => {
      if (event.data === undefined) expect(parsedData![i]).toBeUndefined();
      else expect(parsedData![i]).toEqual(JSON.parse(event.data));
    });
    expect(parsedData![3]).toBe('escaped key wins, as the last');
    expect(parsedData![4]).toEqual({ last: true });
  });

  it('when the event comes in binary mode, then no parsed data travels with it (it is parsed where checked)', () => {
    const req = {
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': '1',
        'ce-source': '/s',
        'ce-type': 't',
      },
      headersDistinct: {
        'content-type': ['application/json'],
        'ce-specversion': ['1.0'],
        'ce-id': ['1'],
        'ce-source': ['/s'],
        'ce-type': ['t'],
      },
    };
    const { events, parsedData } = readEvents(req, { binary: 'json' }, Buffer.from('{"a":1}'));
    expect(events[0]!.data).toBe('{"a":1}');
    expect(parsedData).toBeUndefined();
  });
});
