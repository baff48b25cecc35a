// Certificates made at test time: a private CA and server certificates it issues (for
// `localhost` and 127.0.0.1), as PEM files the server reads with --tls-cert/--tls-key. Keys come
// from Node's crypto (native, fast); node-forge (a devDependency, pure JavaScript, so nothing to
// install beside `npm ci`) builds and signs the X.509 certificates, which Node cannot.

import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

/** A certificate and its key, as PEM. */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

/** A certificate authority that issues server certificates. */
export class TestCa {
  readonly cert: string;
  readonly #cert: forge.pki.Certificate;
  readonly #key: forge.pki.rsa.PrivateKey;

  private constructor(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey) {
    this.#cert = cert;
    this.#key = key;
    this.cert = forge.pki.certificateToPem(cert);
  }

  /** A new self-signed CA named `name`. */
  static create(name = "coguest test CA"): TestCa {
    const { publicKey, privateKey } = rsaPair();
    const cert = skeleton(publicKey, name);
    cert.setIssuer(cert.subject.attributes);
    cert.setExtensions([
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ]);
    cert.sign(privateKey, forge.md.sha256.create());
    return new TestCa(cert, privateKey);
  }

  /** A server certificate for `localhost` and 127.0.0.1 issued by this CA, with a new key. */
  issue(): Pem {
    const { publicKey, privateKey, keyPem } = rsaPair();
    const cert = skeleton(publicKey, "localhost");
    cert.setIssuer(this.#cert.subject.attributes);
    cert.setExtensions([
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ]);
    cert.sign(this.#key, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(cert), key: keyPem };
  }
}

/**
 * The base64 SHA-256 of a certificate's SubjectPublicKeyInfo: the form Chromium's
 * `--ignore-certificate-errors-spki-list` takes (a browser that trusts exactly that key).
 */
export function spkiHash(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/** Writes `pem` to `dir` as `{name}.crt` and `{name}.key`; the two paths. */
export function writePem(dir: string, name: string, pem: Pem): { cert: string; key: string } {
  const paths = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  writeFileSync(paths.cert, pem.cert);
  writeFileSync(paths.key, pem.key, { mode: 0o600 });
  return paths;
}

function rsaPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; keyPem: string } {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const privateKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.publicKeyFromPem(pair.publicKey.export({ type: "spki", format: "pem" }).toString()) as forge.pki.rsa.PublicKey;
  return { publicKey, privateKey, keyPem };
}

/** A certificate valid from an hour ago for a day, with a random serial and `cn` as subject. */
function skeleton(publicKey: forge.pki.rsa.PublicKey, cn: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive: the first bit clear.
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + 86_400_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  return cert;
}
