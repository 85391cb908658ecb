// Which request headers are never shown: every header whose name says it
// carries a secret. /debug/headers is open to anyone who reaches the pod, and
// a request crossing a gateway or a mesh picks up credentials of its own
// (x-amz-security-token, x-goog-iap-jwt-assertion, x-hub-signature-256, …),
// so the rule goes by words in the name, not by a list of known headers:
// showing one header too few is the only mistake it cannot make.

/** Words that mark a secret in a (lower-case) header name. */
const SECRET = /key|token|secret|auth|session|passw|pwd|cookie|signature|credential|jwt|csrf|xsrf|private/

export const REDACTED = '[redacted]'

/** True when the value of the header `lowerName` must not be shown. */
export function secretHeader (lowerName: string): boolean {
  return SECRET.test(lowerName)
}
