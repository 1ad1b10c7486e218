import { describe, expect, it } from 'vitest'
import { refusedResolvedHost } from '../../../shared/backends/backend-host-check.ts'
import { ServiceUnavailableError } from '../../../shared/errors.ts'
import { systemResolveHost } from '../../../shared/net/resolve-host.ts'

const resolvingTo = (addresses: string[]) => async (): Promise<readonly string[]> => addresses

describe('Function: refusedResolvedHost', () => {
  it('refuses a name with any address the literal check refuses, naming the address', async () => {
    const reason = await refusedResolvedHost({
      url: 'http://gpu.example.test:8000',
      resolve: resolvingTo(['10.1.2.3', '169.254.169.254']),
    })
    expect(reason).toMatch(/^gpu\.example\.test resolves to 169\.254\.169\.254: .*metadata/)
    expect(
      await refusedResolvedHost({ url: 'http://v6.example.test', resolve: resolvingTo(['FE80::1']) }),
    ).toMatch(/link-local/)
  })

  it('accepts a name that resolves to private or loopback addresses, where model servers live', async () => {
    const resolve = resolvingTo(['10.0.0.5', '192.168.1.9', '::1'])
    expect(await refusedResolvedHost({ url: 'http://gpu.example.test', resolve })).toBeUndefined()
  })

  it('lets a name through that does not exist, and never resolves literals', async () => {
    const failing = async (): Promise<readonly string[]> => {
      throw new Error('getaddrinfo ENOTFOUND')
    }
    const noRecords = async (): Promise<readonly string[]> => {
      throw Object.assign(new Error('queryA ENODATA'), { code: 'ENODATA' })
    }
    const mustNotBeCalled = async (): Promise<readonly string[]> => {
      throw new Error('a literal address was resolved')
    }
    expect(await refusedResolvedHost({ url: 'http://gone.example.test', resolve: failing })).toBeUndefined()
    expect(
      await refusedResolvedHost({ url: 'http://empty.example.test', resolve: noRecords }),
    ).toBeUndefined()
    expect(await refusedResolvedHost({ url: 'http://10.0.0.1', resolve: mustNotBeCalled })).toBeUndefined()
    expect(await refusedResolvedHost({ url: 'http://[fe80::1]', resolve: mustNotBeCalled })).toBeUndefined()
  })

  it('fails closed with a 503 when the resolver is slower than its timeout or fails otherwise', async () => {
    // A resolver that answers the metadata address, but only after the check's timeout.
    const slowHostile = () =>
      new Promise<readonly string[]>((resolve) => setTimeout(() => resolve(['169.254.169.254']), 200))
    const serverFailure = async (): Promise<readonly string[]> => {
      throw Object.assign(new Error('querySrv ESERVFAIL'), { code: 'ESERVFAIL' })
    }
    for (const resolve of [slowHostile, serverFailure]) {
      const error = await refusedResolvedHost({
        url: 'http://slow.example.test',
        resolve,
        timeoutMs: 20,
      }).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(ServiceUnavailableError)
      expect(error).toMatchObject({ status: 503, code: 'dns_unavailable', headers: { 'retry-after': '5' } })
      expect((error as Error).message).toMatch(/DNS (did not answer within 20 ms|failed)/)
    }
  })

  it('resolves through the system resolver', async () => {
    // localhost comes from the hosts file, so this needs no network.
    const addresses = await systemResolveHost('localhost')
    expect(addresses.some((a) => a === '127.0.0.1' || a === '::1')).toBe(true)
    expect(
      await refusedResolvedHost({ url: 'http://localhost:8000', resolve: systemResolveHost }),
    ).toBeUndefined()
  })
})
