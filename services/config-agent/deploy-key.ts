/**
 * The Flux v1 operator's SSH deploy key. Flux v1 generates a key pair in the cluster when none is
 * given and the user adds the public half to the repository as a deploy key; arcfleet's config-agent
 * does the same (ed25519) and reports the public key in OpenSSH form (`repositoryPublicKey`). A key the
 * user gave (`sshPrivateKey`, base64 of a PEM key) reports its own public half when Node can read it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface DeployKey {
  /** PEM (PKCS#8) private key, as the operator's Secret holds it. */
  readonly privateKeyPem: string;
  /** `ssh-ed25519 AAAA… <comment>` or `ssh-rsa AAAA… <comment>`; empty when not derivable. */
  readonly publicKey: string;
}

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** An SSH mpint: big-endian, with a leading zero byte when the high bit is set. */
function mpint(b64url: string): Buffer {
  const raw = Buffer.from(b64url, 'base64url');
  return sshString((raw[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), raw]) : raw);
}

/** The OpenSSH public key line of a key, or '' for a type this does not render. */
export function openSshPublicKey(key: KeyObject, comment: string): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  let blob: Buffer | undefined;
  let type = '';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) {
    type = 'ssh-ed25519';
    blob = Buffer.concat([sshString(Buffer.from(type)), sshString(Buffer.from(jwk.x, 'base64url'))]);
  } else if (jwk.kty === 'RSA' && jwk.e && jwk.n) {
    type = 'ssh-rsa';
    blob = Buffer.concat([sshString(Buffer.from(type)), mpint(jwk.e), mpint(jwk.n)]);
  }
  return blob ? `${type} ${blob.toString('base64')} ${comment}` : '';
}

export function generateDeployKey(comment: string): DeployKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: openSshPublicKey(privateKey, comment),
  };
}

/** The user's key (base64 of a PEM key); the public half is '' when Node cannot parse it (e.g. OpenSSH format). */
export function givenDeployKey(base64Pem: string, comment: string): DeployKey {
  const pem = Buffer.from(base64Pem, 'base64').toString('utf8');
  try {
    return { privateKeyPem: pem, publicKey: openSshPublicKey(createPrivateKey(pem), comment) };
  } catch {
    return { privateKeyPem: pem, publicKey: '' };
  }
}
