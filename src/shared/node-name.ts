// A Kubernetes node name, as the Downward API's spec.nodeName gives it to the
// server (NODE_NAME, /stats node_name) and to the client Job (podmeter load's
// placement): a DNS subdomain (RFC 1123), lower-case letters, digits, `-`
// and `.`, each label starting and ending with a letter or digit, at most
// 253 characters. Anything else is not echoed into a document.

const SUBDOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

export function isNodeName (text: string): boolean {
  return text.length <= 253 && SUBDOMAIN.test(text)
}

/** `text` when it is a node name, else null (unset, empty or malformed). */
export function nodeNameOrNull (text: string | undefined): string | null {
  return text !== undefined && isNodeName(text) ? text : null
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** A DNS label (RFC 1123): what a Kubernetes namespace name is, at most 63 characters, no dots. */
export function isDnsLabel (text: string): boolean {
  return LABEL.test(text)
}
