/**
 * A tiny Docker registry token server for tests (run inside a test netns):
 *   node --import tsx token-server.ts PORT KEY.pem CERT.pem USER:PASS LOGFILE
 * GET /token?service=S&scope=repository:NAME:pull with Basic USER:PASS → {"token": JWT}
 * signed RS256 with the certificate in the JWT's x5c header (the registry trusts that
 * certificate through its rootcertbundle). Anything else → 401. Every request's query is
 * appended to LOGFILE.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const [port, keyFile, certFile, userPass, logFile] = process.argv.slice(2);
const key = fs.readFileSync(keyFile!, 'utf8');
const certDer = new crypto.X509Certificate(fs.readFileSync(certFile!)).raw.toString('base64');
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

http
  .createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    fs.appendFileSync(logFile!, `${url.search}\n`);
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
    if (url.pathname !== '/token' || given !== userPass) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url({ typ: 'JWT', alg: 'RS256', x5c: [certDer] });
    const claims = b64url({
      iss: 'tsnet-test-issuer',
      sub: userPass!.split(':')[0],
      aud: url.searchParams.get('service'),
      exp: now + 600,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomBytes(8).toString('hex'),
      access,
    });
    const signature = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), key).toString('base64url');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 600 }));
  })
  .listen(Number(port), '127.0.0.1');
