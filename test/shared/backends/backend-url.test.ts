import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkBackendUrl } from '../../../shared/backends/backend-url.ts'

const octets = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const hex16 = (hi: number, lo: number) => ((hi << 8) | lo).toString(16)

/**
 * Every way a URL can spell one IPv4 address. WHATWG URL turns the decimal,
 * hex, octal and short forms into dotted quads and IPv6 into hex groups, so the
 * check must hold after that normalisation, not on the text it was given.
 */
function spellings(n: number): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = octets(n)
  const dotted = `${a}.${b}.${c}.${d}`
  return [
    dotted,
    `${dotted}.`,
    String(n),
    `0x${n.toString(16)}`,
    `0X${n.toString(16).toUpperCase()}`,
    [a, b, c, d].map((o) => `0${o.toString(8)}`).join('.'),
    [a, b, c, d].map((o) => `0x${o.toString(16)}`).join('.'),
    `${a}.${n & 0xffffff}`,
    `${a}.${b}.${n & 0xffff}`,
    `[::ffff:${dotted}]`,
    `[::FFFF:${hex16(a, b)}:${hex16(c, d)}]`,
    `[0:0:0:0:0:ffff:${dotted}]`,
    `[::${dotted}]`,
    `[::ffff:0:${dotted}]`,
    `[64:ff9b::${dotted}]`,
    `[2002:${hex16(a, b)}:${hex16(c, d)}::1]`,
  ]
}

const linkLocal = fc.integer({ min: 0, max: 0xffff }).map((low) => ((169 << 24) | (254 << 16) | low) >>> 0)
const privateOrLoopback = fc.oneof(
  fc.integer({ min: 0, max: 0xffffff }).map((low) => ((10 << 24) | low) >>> 0),
  fc.integer({ min: 0, max: 0xfffff }).map((low) => ((172 << 24) | (16 << 16) | low) >>> 0),
  fc.integer({ min: 0, max: 0xffff }).map((low) => ((192 << 24) | (168 << 16) | low) >>> 0),
  fc.integer({ min: 1, max: 0xffffff }).map((low) => ((127 << 24) | low) >>> 0),
)

describe('Function: checkBackendUrl', () => {
  describe('refuses', () => {
    it.each([
      ['the AWS/GCP/Azure metadata address', 'http://169.254.169.254/latest/meta-data'],
      ['the metadata address as a decimal integer', 'http://2852039166/'],
      ['the metadata address as a hex integer', 'http://0xA9FEA9FE/'],
      ['the metadata address in octal', 'http://0251.0376.0251.0376/'],
      ['the metadata address percent-encoded', 'http://%31%36%39.254.169.254/'],
      ['the metadata address in full-width digits', 'http://１６９.２５４.１６９.２５４/'],
      ['the IPv4-mapped metadata address', 'http://[::ffff:169.254.169.254]'],
      ['the IPv4-mapped metadata address in hex groups', 'http://[::ffff:a9fe:a9fe]:8080/'],
      ['the IPv4-compatible metadata address', 'http://[::169.254.169.254]/'],
      ['the NAT64 metadata address', 'http://[64:ff9b::a9fe:a9fe]/'],
      ['a 6to4 address around the metadata address', 'http://[2002:a9fe:a9fe::1]/'],
      ['the EC2 IPv6 metadata address', 'http://[fd00:ec2::254]/'],
      ['the EC2 IPv6 metadata address written out', 'http://[FD00:0EC2:0:0:0:0:0:0254]/'],
      ['the Alibaba metadata address', 'http://100.100.100.200/'],
      ['link-local IPv4', 'http://169.254.0.1:8000/'],
      ['link-local IPv6', 'http://[fe80::1]/'],
      ['link-local IPv6 at the top of fe80::/10', 'http://[febf:ffff::1]/'],
      ['metadata host names', 'http://metadata.google.internal/computeMetadata/v1/'],
      ['metadata host names with a trailing dot', 'http://metadata.google.internal./'],
      ['metadata host names in capitals', 'http://INSTANCE-DATA.ec2.internal/'],
      ['the unspecified IPv4 address', 'http://0.0.0.0:8000/'],
      ['the unspecified IPv6 address', 'http://[::]/'],
      ['multicast', 'http://224.0.0.1/'],
      ['IPv6 multicast', 'http://[ff02::1]/'],
      ['the broadcast address', 'http://255.255.255.255/'],
      ['file: URLs', 'file:///etc/passwd'],
      ['other schemes', 'gopher://10.0.0.1:70/'],
      ['credentials in the URL', 'http://user:secret@10.0.0.1:8000/'],
      ['a user name alone', 'http://user@10.0.0.1:8000/'],
      ['a query string', 'http://10.0.0.1:8000/?x=1'],
      ['a fragment', 'http://10.0.0.1:8000/#x'],
      ['relative URLs', '/v1/chat/completions'],
      ['garbage', 'not a url'],
      ['an IPv6 zone id', 'http://[fe80::1%25eth0]/'],
    ])('%s (%s)', (_name, raw) => {
      // Act
      const result = checkBackendUrl(raw)

      // Assess
      expect(result.ok).toBe(false)
    })

    it('every link-local address, however the URL spells it', () => {
      fc.assert(
        fc.property(linkLocal, fc.nat(), fc.constantFrom('', ':8000'), (address, pick, port) => {
          // Prepare
          const forms = spellings(address)
          const host = forms[pick % forms.length]

          // Act
          const result = checkBackendUrl(`http://${host}${port}/v1`)

          // Assess
          expect(result).toMatchObject({ ok: false })
        }),
      )
    })
  })

  describe('allows', () => {
    it.each([
      ['loopback', 'http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
      ['IPv6 loopback', 'http://[::1]:8000/', 'http://[::1]:8000'],
      ['private ranges', 'http://10.1.2.3:8000/', 'http://10.1.2.3:8000'],
      ['unique-local IPv6', 'http://[fd12:3456::1]:8000', 'http://[fd12:3456::1]:8000'],
      ['host names', 'https://vllm.internal.example:443/', 'https://vllm.internal.example'],
      [
        'a path prefix, without its trailing slash',
        'http://10.0.0.5:8080/sglang/',
        'http://10.0.0.5:8080/sglang',
      ],
    ])('%s (%s)', (_name, raw, normalised) => {
      // Act
      const result = checkBackendUrl(raw)

      // Assess
      expect(result).toEqual({ ok: true, url: normalised })
    })

    it('every private and loopback address, however the URL spells it', () => {
      fc.assert(
        fc.property(privateOrLoopback, fc.nat(), (address, pick) => {
          // Prepare
          const forms = spellings(address)
          const host = forms[pick % forms.length]

          // Act
          const result = checkBackendUrl(`http://${host}:8000`)

          // Assess
          expect(result.ok).toBe(true)
        }),
      )
    })

    it('returns a URL that never ends with a slash, so appending /v1/… never doubles a slash', () => {
      fc.assert(
        fc.property(fc.webPath(), (path) => {
          const result = checkBackendUrl(`http://10.0.0.1:8000${path}`)
          if (result.ok) expect(result.url.endsWith('/')).toBe(false)
        }),
      )
    })
  })
})
