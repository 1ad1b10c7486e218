import { describe, expect, it } from 'vitest'
import { expressionNames, mapKeyPaths } from '../../../shared/aws/dynamo-toolkit.ts'

describe('mapKeyPaths', () => {
  it('gives each key its own placeholder under the map, in order', () => {
    expect(mapKeyPaths('#leases', ['a.b', 'lease:2'], '#r')).toEqual({
      paths: ['#leases.#r0', '#leases.#r1'],
      names: { '#r0': 'a.b', '#r1': 'lease:2' },
    })
  })

  it('names every placeholder its paths use, so expressionNames accepts them', () => {
    const { paths, names } = mapKeyPaths('#leases', ['x', 'y'])
    const expression = `REMOVE ${paths.join(', ')}`
    expect(expressionNames(expression, { '#leases': 'leases', ...names })).toEqual({
      '#leases': 'leases',
      '#k0': 'x',
      '#k1': 'y',
    })
  })

  it('no keys, no paths', () => {
    expect(mapKeyPaths('#leases', [])).toEqual({ paths: [], names: {} })
  })
})
