import { SecretScrubber, createLogger } from './log';
import { logSink } from '../testing/log-sink';

describe('SecretScrubber', () => {
  it.each([
    ['https://portal.example/rest/1/abcdef123456/crm.lead.add', 'https://portal.example/rest/1/***/crm.lead.add'],
    ['GET /uccx/lookup?ani=79001112233&token=s3cr3t-token', 'GET /uccx/lookup?ani=79001112233&token=***'],
    ['auth[access_token]=deadbeef&x=1', 'auth[access_token]=***&x=1'],
    ['{"refresh_token":"r1r2r3r4","ok":1}', '{"refresh_token":"***","ok":1}'],
    ['Authorization: Bearer eyJabc.def', 'Authorization: Bearer ***'],
  ])('scrubs %s', (input, expected) => {
    expect(new SecretScrubber().scrub(input)).toBe(expected);
  });

  it('scrubs known values anywhere, including inside free text', () => {
    const s = new SecretScrubber();
    s.add('tok-9f8e7d6c');
    expect(s.scrub('failed with tok-9f8e7d6c in message')).toBe('failed with *** in message');
  });

  it('keeps the logger output free of secrets passed as fields or messages', () => {
    const { lines, stream } = logSink();
    const scrubber = new SecretScrubber();
    scrubber.add('client-secret-value');
    const log = createLogger('info', scrubber, stream);
    log.info({ url: 'https://p.example/rest/5/hooksecret/user.get', access_token: 'abcd1234' }, 'call client-secret-value');
    const out = lines.join('');
    expect(out).toContain('user.get');
    expect(out).not.toContain('hooksecret');
    expect(out).not.toContain('abcd1234');
    expect(out).not.toContain('client-secret-value');
  });

  it('logs an error as its type, message, stack and cause', () => {
    const { lines, stream } = logSink();
    const log = createLogger('info', new SecretScrubber(), stream);
    class PortalGoneError extends Error {}
    PortalGoneError.prototype.name = 'PortalGoneError';
    log.error({ err: new PortalGoneError('the portal was deleted', { cause: new TypeError('fetch failed') }) }, 'lookup failed');
    const line = JSON.parse(lines.join('')) as { err: { type: string; message: string; stack: string; cause: { type: string; message: string } } };
    expect(line.err).toMatchObject({ type: 'PortalGoneError', message: 'the portal was deleted', cause: { type: 'TypeError', message: 'fetch failed' } });
    expect(line.err.stack).toMatch(/^PortalGoneError: the portal was deleted\n\s+at /);
  });
});
