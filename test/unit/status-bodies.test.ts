// Response bytes are a sum over the status counters plus what the answers
// off the plain path add: the sum must give back exactly the bytes sent,
// whichever mix of answers, over every shard.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { add, C, create, inc, shard, STATUS_MIN } from '../../src/shared/layout.js'
import { BODY, BYTES, LENGTH, requestBytes, responseBytes } from '../../src/main/status-bodies.js'

const layout = { ringCapacity: 1024, lowestUs: 1, highestUs: 60_000_000, digits: 3, windowSeconds: 10, shards: 2 }

test('default bodies: OK for 200, the reason phrase otherwise, none for 204 and 304', () => {
  assert.equal(BODY[200], 'OK\n')
  assert.equal(LENGTH[200], '3')
  assert.equal(BODY[503], 'Service Unavailable\n')
  assert.equal(BYTES[503], 20)
  for (const s of [204, 304]) {
    assert.equal(BODY[s], undefined)
    assert.equal(LENGTH[s], undefined)
    assert.equal(BYTES[s], 0)
  }
})

test('response bytes: plain answers from the status counters, others as sent, summed over shards', () => {
  const v = create(layout)
  const [a, b] = [shard(v, 0).counters, shard(v, 1).counters]
  const answer = (c: Uint32Array, status: number, sent?: number): void => {
    inc(c, C.STATUS + status - STATUS_MIN)
    if (sent === undefined) return // a plain answer: its default body
    add(c, C.DEFAULT_BYTES_UNSENT, BYTES[status] as number)
    if (sent > 0) add(c, C.BYTES_OUT, sent)
  }
  for (let i = 0; i < 10; i++) answer(a, 200) // 30
  for (let i = 0; i < 4; i++) answer(b, 503) // 80
  answer(a, 204) // 0
  answer(b, 200, 1024) // a size=1k answer
  answer(a, 200, 0) // a HEAD
  answer(b, 503, 0) // size=0 with status=503
  answer(a, 304, 5000) // an echo with 304 sends nothing in fact; the sum still adds what it said
  add(b, C.BYTES_IN, 777)
  assert.equal(responseBytes(v), 30 + 80 + 1024 + 5000)
  assert.equal(requestBytes(v), 777)
})
