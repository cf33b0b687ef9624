/**
 * Which addresses a webhook may reach. A callback URL is a request to make an HTTP call from
 * inside the deployment, so anything that resolves to loopback, link-local (cloud metadata lives
 * at 169.254.169.254), private, carrier-grade NAT, multicast or unspecified addresses is refused,
 * unless the operator names the host in WEBHOOK_ALLOW_HOSTS. Pure functions over address text.
 */
import { isIP } from "node:net";

/** [first address as a number, prefix length] of IPv4 ranges a webhook must not reach. */
const BLOCKED_V4: [string, number][] = [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

function v4ToNumber(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function inV4Range(address: string, [base, bits]: [string, number]): boolean {
  const size = 2 ** (32 - bits);
  return Math.floor(v4ToNumber(address) / size) === Math.floor(v4ToNumber(base) / size);
}

/** The eight 16-bit groups of an IPv6 address (with an embedded IPv4 tail expanded). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().split("%")[0];
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const n = v4ToNumber(v4Tail[1]);
    text = text.slice(0, -v4Tail[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array(missing).fill("0"), ...tailGroups].map((g) => parseInt(g, 16));
}

/** Why an IPv6 address carrying an IPv4 address (as two 16-bit groups) may not be called, or null. */
function embeddedV4(address: string, high: number, low: number): string | null {
  const inner = blockedReason(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  return inner ? `${address} maps to ${inner}` : null;
}

/** Why this address may not be called, or null when it is a public unicast address. */
export function blockedReason(address: string): string | null {
  const family = isIP(address);
  if (family === 4) {
    for (const range of BLOCKED_V4) if (inV4Range(address, range)) return `${address} is in ${range[0]}/${range[1]}`;
    return null;
  }
  if (family === 6) {
    const g = v6Groups(address);
    if (g.every((x) => x === 0)) return `${address} is unspecified`;
    if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return `${address} is loopback`;
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms reach the IPv4 address inside.
    if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return embeddedV4(address, g[6], g[7]);
    // NAT64 (64:ff9b::/96) carries the IPv4 address in its last 32 bits, 6to4 (2002::/16) in bits
    // 16-48: a gateway on the path forwards to that IPv4 address, so it is checked as well.
    if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embeddedV4(address, g[6], g[7]);
    if (g[0] === 0x2002) return embeddedV4(address, g[1], g[2]);
    // Teredo (2001::/32) tunnels to an IPv4 address obfuscated in the last 32 bits; never needed for a webhook.
    if (g[0] === 0x2001 && g[1] === 0) return `${address} is a Teredo tunnel address`;
    if ((g[0] & 0xfe00) === 0xfc00) return `${address} is a unique local (private) address`;
    if ((g[0] & 0xffc0) === 0xfe80) return `${address} is link-local`;
    if ((g[0] & 0xff00) === 0xff00) return `${address} is multicast`;
    if (g[0] === 0x2001 && g[1] === 0x0db8) return `${address} is a documentation address`;
    return null;
  }
  return `${address} is not an IP address`;
}
