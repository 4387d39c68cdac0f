import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Removes secrets from a serialized log line. Known values (tokens learned at run time, configured secrets)
 * are replaced wherever they appear; patterns catch the shapes a secret travels in (webhook paths, auth params)
 * even before we know the value.
 */
export class SecretScrubber {
  private readonly values = new Set<string>();

  add(...secrets: Array<string | null | undefined>): void {
    for (const s of secrets) if (s && s.length >= 4) this.values.add(s);
  }

  scrub(line: string): string {
    let out = line;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('***');
    return out
      .replace(/(\/rest\/\d+\/)[^/\s"?]+/g, '$1***')
      .replace(/((?:auth|access_token|refresh_token|token|AUTH_ID|REFRESH_ID|application_token|client_secret)(?:%5D|\])?=)[^&\s"]+/gi, '$1***')
      .replace(/("(?:access_token|refresh_token|application_token|client_secret|AUTH_ID|REFRESH_ID|token|authorization)":\s*")[^"]*"/gi, '$1***"')
      .replace(/(Bearer\s+)[^\s"]+/gi, '$1***');
  }
}

export function createLogger(level: string, scrubber: SecretScrubber, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      // An error as type, message, stack and its causes: what an operator needs to tell one failure from another.
      serializers: { err: pino.stdSerializers.errWithCause },
      hooks: { streamWrite: (s: string) => scrubber.scrub(s) },
      redact: { paths: ['req.headers.authorization', '*.password', '*.access_token', '*.refresh_token'], censor: '***' },
    },
    // Synchronous: the last lines before a crash are the ones an operator needs.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
