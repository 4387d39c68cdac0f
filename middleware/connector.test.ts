import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_UCCX_TOKEN, startStack } from '../scripts/lab/lab-stack';

function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('HTTPS', () => {
  it('serves TLS when TLS_CERT and TLS_KEY are set', async () => {
    const { cert, key } = selfSigned(mkdtempSync(join(tmpdir(), 'tls-')));
    const stack = await startStack({ mode: 'webhook', env: { TLS_CERT: cert, TLS_KEY: key } });
    try {
      expect(stack.url.startsWith('https://')).toBe(true);
      const r = await get(`${stack.url}/uccx/lookup?ani=89123456789&token=${LAB_UCCX_TOKEN}`, readFileSync(cert));
      expect(r.status).toBe(200);
      expect(r.body).toContain('<extension>1021</extension>');
    } finally {
      await stack.stop();
    }
  });
});
