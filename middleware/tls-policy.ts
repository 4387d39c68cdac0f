/**
 * The middleware's own HTTPS (TLS_CERT/TLS_KEY): Mozilla's "intermediate" configuration (Server Side TLS, version
 * 5.7, https://wiki.mozilla.org/Security/Server_Side_TLS): TLS 1.2 and 1.3 only, and on TLS 1.2 only ECDHE/DHE suites
 * with AEAD ciphers — every suite forward-secret. TLS 1.3's suites are all forward-secret; Node's defaults for it stay.
 */
export const TLS_POLICY = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
    'DHE-RSA-AES128-GCM-SHA256',
    'DHE-RSA-AES256-GCM-SHA384',
    'DHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  // Mozilla intermediate: the client chooses among these (all are strong).
  honorCipherOrder: false,
} as const;
