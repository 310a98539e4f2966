/**
 * The self-signed certificate (for IP 127.0.0.1) of the stand-in workspaces'
 * HTTPS endpoint. It is generated once with the openssl CLI and kept in
 * ./tls (committed: test-only, it protects nothing). Processes that call the
 * endpoint trust it through NODE_EXTRA_CA_CERTS=<cert.pem>.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SOURCE_SUBDIR = path.join('test', 'testbed', 'standins', 'tls');

/** ./tls next to this file, or the source tree's copy when running compiled from dist/. */
function candidates(): string[] {
  const dirs = [path.join(__dirname, 'tls')];
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'testbed', 'standins'))) {
      dirs.push(path.join(dir, SOURCE_SUBDIR));
      break;
    }
  }
  return dirs;
}

export interface TlsMaterial {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Loads the certificate and key, generating them first if no copy exists. */
export function loadOrCreateTls(): TlsMaterial {
  const dirs = candidates();
  for (const dir of dirs) {
    const certPath = path.join(dir, 'cert.pem');
    const keyPath = path.join(dir, 'key.pem');
    if (fs.existsSync(certPath) && fs.existsSync(keyPath)) {
      return { certPath, keyPath, cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) };
    }
  }
  // Prefer the source tree, so the generated pair is the one that gets committed.
  const target = dirs[dirs.length - 1];
  generate(target);
  const certPath = path.join(target, 'cert.pem');
  const keyPath = path.join(target, 'key.pem');
  return { certPath, keyPath, cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) };
}

/** openssl req -x509 ... into `dir` (atomically: written to a temp dir, then renamed into place). */
export function generate(dir: string): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('The stand-ins need the openssl CLI once, to create their test certificate (test/testbed/standins/tls); install openssl or restore the committed tls/ files.');
  }
  fs.mkdirSync(dir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'standins-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '36500', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'cert.pem'),
    ], { stdio: 'ignore' });
    // Key first: a reader treats cert.pem + key.pem both present as complete.
    if (!fs.existsSync(path.join(dir, 'key.pem')) || !fs.existsSync(path.join(dir, 'cert.pem'))) {
      fs.copyFileSync(path.join(tmp, 'key.pem'), path.join(dir, 'key.pem.tmp'));
      fs.renameSync(path.join(dir, 'key.pem.tmp'), path.join(dir, 'key.pem'));
      fs.copyFileSync(path.join(tmp, 'cert.pem'), path.join(dir, 'cert.pem.tmp'));
      fs.renameSync(path.join(dir, 'cert.pem.tmp'), path.join(dir, 'cert.pem'));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
