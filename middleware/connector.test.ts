import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_UCCX_TOKEN, startStack } from '../scripts/lab/lab-stack';

function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
  });
  return { cert, key };
}

function get(url: string, ca: Buffer, tls: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, ...tls }, (res) => {
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
      // Mozilla "intermediate": forward-secret suites only, TLS 1.2 at the least.
      const health = `${stack.url}/healthz`;
      const ca = readFileSync(cert);
      await expect(get(health, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).resolves.toMatchObject({ status: 200 });
      await expect(get(health, ca, { minVersion: 'TLSv1.3' })).resolves.toMatchObject({ status: 200 });
      for (const suite of ['AES256-GCM-SHA384', 'AES128-SHA256', 'ECDHE-RSA-AES128-SHA']) {
        await expect(get(health, ca, { maxVersion: 'TLSv1.2', ciphers: suite })).rejects.toThrow(/handshake failure|no shared cipher|alert/i);
      }
      await expect(get(health, ca, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow(/protocol|version|alert|handshake/i);
    } finally {
      await stack.stop();
    }
  });
});
