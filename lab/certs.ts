// The lab's mesh identities, made with openssl at each start: a CA and two
// workload certificates with SPIFFE URIs in their subjectAltName, as Istio's
// CA issues them (ECDSA P-256 here, to keep start-up quick; Istio's default
// workload keys are RSA 2048). Every hop that speaks mTLS verifies the
// other side against the CA.

import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const TRUST_DOMAIN = 'lab.local'
/** The name the server side's certificate is issued for, and that clients verify. */
export const SERVER_NAME = 'podmeter.lab'
export const SERVER_ID = `spiffe://${TRUST_DOMAIN}/ns/lab/sa/podmeter`
export const CLIENT_ID = `spiffe://${TRUST_DOMAIN}/ns/lab/sa/client`

export interface Certs {
  ca: string
  /** PEM files: nginx takes certificate and key apart, HAProxy one file with both. */
  server: { crt: string, key: string, pem: string }
  client: { crt: string, key: string, pem: string }
}

async function openssl (args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd })
  } catch (err) {
    const e = err as { code?: string, stderr?: string, message: string }
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: apt-get install openssl')
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message}`)
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

async function issue (dir: string, name: string, san: string): Promise<{ crt: string, key: string, pem: string }> {
  const ext = join(dir, `${name}.ext`)
  await writeFile(ext, [
    `subjectAltName = ${san}`,
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth, clientAuth'
  ].join('\n') + '\n')
  await openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=podmeter-lab/CN=${name}`], dir)
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', ext], dir)
  const pem = join(dir, `${name}.pem`)
  await writeFile(pem, (await readFile(join(dir, `${name}.crt`), 'utf8')) + (await readFile(join(dir, `${name}.key`), 'utf8')))
  return { crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), pem }
}

/** A fresh CA and the server's and client's certificates in `dir`. */
export async function makeCerts (dir: string): Promise<Certs> {
  await openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/O=podmeter-lab/CN=podmeter lab CA'], dir)
  // One after the other: both update the CA's serial file.
  const server = await issue(dir, 'server', `URI:${SERVER_ID}, DNS:${SERVER_NAME}`)
  const client = await issue(dir, 'client', `URI:${CLIENT_ID}`)
  return { ca: join(dir, 'ca.crt'), server, client }
}
