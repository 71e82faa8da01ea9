/** Test PKI of a harness run, made with the openssl CLI. */
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { runOk } from "./exec";

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Creates a self-signed CA (EC P-256, 30 days). */
export async function createCa(dir: string, commonName: string): Promise<KeyPair> {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, "ca.key");
  const crt = join(dir, "ca.crt");
  await runOk(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await runOk([
    "openssl", "req", "-x509", "-new", "-key", key, "-out", crt, "-days", "30", "-subj", `/CN=${commonName}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
}

/**
 * Issues a certificate signed by `ca` for `commonName` with IP SANs `addresses` and DNS SANs
 * `dnsNames` (wildcards allowed) besides `commonName` (server and client authentication).
 */
export async function issueCertificate(
  dir: string,
  ca: KeyPair,
  commonName: string,
  addresses: readonly string[],
  dnsNames: readonly string[] = [],
): Promise<KeyPair> {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, `${commonName}.ca.key`);
  const caCrt = join(dir, `${commonName}.ca.crt`);
  writeFileSync(caKey, ca.keyPem, { mode: 0o600 });
  writeFileSync(caCrt, ca.certPem);
  const key = join(dir, `${commonName}.key`);
  const csr = join(dir, `${commonName}.csr`);
  const crt = join(dir, `${commonName}.crt`);
  const ext = join(dir, `${commonName}.ext`);
  writeFileSync(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      `subjectAltName=${[...addresses.map((a) => `IP:${a}`), "IP:127.0.0.1", `DNS:${commonName}`, ...dnsNames.map((d) => `DNS:${d}`)].join(",")}`,
      "",
    ].join("\n"),
  );
  await runOk(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await runOk(["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", `/CN=${commonName}`]);
  await runOk(["openssl", "x509", "-req", "-in", csr, "-CA", caCrt, "-CAkey", caKey, "-CAcreateserial", "-out", crt, "-days", "30", "-extfile", ext]);
  return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
}
