import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../../src/cli/serve.js'
import { DEFAULT_BUCKETS_US, DEFAULTS } from '../../src/shared/config.js'
import { runCli } from '../support/helpers.js'

test('defaults, environment and flags (flags win)', () => {
  assert.deepEqual(loadConfig([], {}), DEFAULTS)
  const c = loadConfig(['--port', '9090', '--delay-ms=250us', '--window-seconds', '30'], { PORT: '1234', HOST: '127.0.0.1', MAX_DELAY_MS: '1.5s' })
  assert.equal(c.port, 9090)
  assert.equal(c.host, '127.0.0.1')
  assert.equal(c.delayUs, 250)
  assert.equal(c.maxDelayUs, 1_500_000)
  assert.equal(c.windowSeconds, 30)
  assert.equal(loadConfig([], { DELAY_MS: '0.5' }).delayUs, 500)
  const mesh = loadConfig(['--envoy-admin', '[::1]:15000', '--proc-net-tcp', '/tmp/a, /tmp/b'], { PODINFO_DIR: '/podinfo', ENVOY_ADMIN: 'off', MESH_REFRESH_MS: '250' })
  assert.equal(mesh.envoyAdmin, '[::1]:15000')
  assert.equal(mesh.procNetTcp, '/tmp/a,/tmp/b')
  assert.equal(mesh.podinfoDir, '/podinfo')
  assert.equal(mesh.meshRefreshMs, 250)
  assert.equal(loadConfig([], { ENVOY_ADMIN: 'off' }).envoyAdmin, 'off')
})

test('METRICS_BUCKETS: durations, a bare number is seconds, 81 defaults from 50 µs to 10 s', () => {
  assert.equal(DEFAULT_BUCKETS_US.length, 81)
  assert.equal(DEFAULT_BUCKETS_US[0], 50)
  assert.equal(DEFAULT_BUCKETS_US.at(-1), 10_000_000)
  for (let i = 1; i < DEFAULT_BUCKETS_US.length; i++) {
    const [lo, hi] = [DEFAULT_BUCKETS_US[i - 1] as number, DEFAULT_BUCKETS_US[i] as number]
    assert.ok(Number.isInteger(hi), String(hi))
    // At most 10 % apart from 1 ms to 100 ms (classic quantiles within 10 % there), 5/3 elsewhere.
    const limit = lo >= 1000 && hi <= 100_000 ? 1.1 : 5 / 3
    assert.ok(hi / lo > 1 && hi / lo <= limit + 1e-9, `neighbours ${lo} and ${hi} µs`)
  }
  assert.deepEqual(loadConfig(['--metrics-buckets', '100us,1ms, 0.01,1.5s'], {}).metricsBucketsUs, [100, 1000, 10_000, 1_500_000])
  assert.deepEqual(loadConfig([], { METRICS_BUCKETS: '0.5' }).metricsBucketsUs, [500_000])
})

test('MAX_SIZE: bytes or with a unit (powers of 1024), 0 to 1 GiB, default 1 MiB', () => {
  assert.equal(loadConfig([], {}).maxSize, 1_048_576)
  assert.equal(loadConfig(['--max-size', '64k'], {}).maxSize, 65_536)
  assert.equal(loadConfig([], { MAX_SIZE: '4MiB' }).maxSize, 4 * 1_048_576)
  assert.equal(loadConfig([], { MAX_SIZE: '0' }).maxSize, 0)
  assert.equal(loadConfig([], { MAX_SIZE: '1G' }).maxSize, 2 ** 30)
  for (const bad of ['1.5G', '2G', '-1', '1e6', 'big', '0.1k']) assert.throws(() => loadConfig([], { MAX_SIZE: bad }), /^ConfigError: MAX_SIZE: ".*" is not a size in bytes/)
})

test('METRICS_NATIVE_SCHEMA: 0 to 8, default 8', () => {
  assert.equal(loadConfig([], {}).metricsNativeSchema, 8)
  assert.equal(loadConfig(['--metrics-native-schema', '5'], {}).metricsNativeSchema, 5)
  for (const bad of ['9', '-1', '2.5', 'max']) assert.throws(() => loadConfig([], { METRICS_NATIVE_SCHEMA: bad }), /METRICS_NATIVE_SCHEMA.*0 to 8/)
})

test('an invalid value names the setting and what it accepts', () => {
  const bad: Array<[string[], Record<string, string>, RegExp]> = [
    [[], { PORT: 'abc' }, /^PORT: "abc" is not a port number from 0 to 65535/],
    [[], { PORT: '70000' }, /^PORT:/],
    [['--delay-ms', '-1'], {}, /^DELAY_MS: "-1" is not a duration/],
    [[], { RING_CAPACITY: '1000' }, /^RING_CAPACITY: .* power of two/],
    [[], { WINDOW_SECONDS: '0' }, /^WINDOW_SECONDS:/],
    [[], { HISTOGRAM_DIGITS: '6' }, /^HISTOGRAM_DIGITS:/],
    [[], { DELAY_MS: '50', MAX_DELAY_MS: '10' }, /^DELAY_MS: is larger than MAX_DELAY_MS/],
    [[], { PODINFO_DIR: 'etc/podinfo' }, /^PODINFO_DIR: "etc\/podinfo" is not an absolute directory path/],
    [[], { PROC_NET_TCP: '/proc/net/tcp,net/tcp6' }, /^PROC_NET_TCP: .* absolute file paths, comma-separated/],
    [['--envoy-admin', '127.0.0.1'], {}, /^ENVOY_ADMIN: "127.0.0.1" is not host:port/],
    [[], { ENVOY_ADMIN: 'localhost:70000' }, /^ENVOY_ADMIN:/],
    [[], { MESH_REFRESH_MS: '10' }, /^MESH_REFRESH_MS: "10" is not a whole number of ms from 100 to 600000/],
    [[], { CGROUP_ROOT: 'sys/fs/cgroup' }, /^CGROUP_ROOT:/],
    [[], { METRICS_BUCKETS: '1ms,500us' }, /^METRICS_BUCKETS: .* ascending durations/],
    [[], { METRICS_BUCKETS: '1ms,1ms' }, /^METRICS_BUCKETS:/],
    [[], { METRICS_BUCKETS: '0us' }, /^METRICS_BUCKETS:/],
    [[], { METRICS_BUCKETS: 'fast' }, /^METRICS_BUCKETS:/],
    [[], { METRICS_BUCKETS: Array.from({ length: 101 }, (_, i) => `${i + 1}ms`).join(',') }, /^METRICS_BUCKETS:/],
    [[], { METRICS_BUCKETS: '2m' }, /^METRICS_BUCKETS: 2m is outside the histogram range/],
    [[], { METRICS_BUCKETS: '999999999999999m' }, /^METRICS_BUCKETS: more than 2\^53us is outside the histogram range/],
    [[], { DELAY_MS: '999999999999999' }, /^DELAY_MS:/]
  ]
  for (const [argv, env, message] of bad) assert.throws(() => loadConfig(argv, env), { name: 'ConfigError', message })
  // The grammar itself (shared with every command) refuses what is not a flag of serve.
  assert.throws(() => loadConfig(['--nope'], {}), { name: 'UsageError', message: /^unknown option --nope/ })
  assert.throws(() => loadConfig(['--port'], {}), { name: 'UsageError', message: /^--port needs a value/ })
  assert.throws(() => loadConfig(['--port', '1', '--port', '2'], {}), { name: 'UsageError', message: /^--port given twice/ })
  assert.throws(() => loadConfig(['8080'], {}), { name: 'UsageError', message: /takes no arguments/ })
})

test('the CLI refuses a bad setting with exit code 2 and the reason', async () => {
  const r = await runCli(['serve', '--port', 'eighty'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /PORT: "eighty" is not a port number/)
  const env = await runCli([], { WINDOW_SECONDS: '999' })
  assert.equal(env.code, 2)
  assert.match(env.stderr, /WINDOW_SECONDS: "999" is not a whole number of seconds from 1 to 120/)
  const unknown = await runCli(['frobnicate'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /unknown command "frobnicate"/)
  const help = await runCli(['serve', '--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /--delay-ms\s+DELAY_MS\s+default 20/)
})

test('hardening settings: timeouts, connections, the admin token (environment only, never echoed), on/off switches', () => {
  const c = loadConfig(['--headers-timeout-ms', '5000', '--request-timeout-ms=8000', '--max-connections', '500', '--stats-reset', 'off', '--faults', 'on', '--shutdown-delay-ms', '0'],
    { PODMETER_ADMIN_TOKEN: 'abcdefghijklmnop' })
  assert.deepEqual([c.headersTimeoutMs, c.requestTimeoutMs, c.maxConnections, c.statsReset, c.faults, c.shutdownDelayMs, c.adminToken],
    [5000, 8000, 500, false, true, 0, 'abcdefghijklmnop'])
  assert.equal(DEFAULTS.faults, false, 'fault injection is off by default')
  assert.equal(DEFAULTS.adminToken, '', 'no token by default: reset is open')
  assert.ok(DEFAULTS.keepAliveTimeoutMs > 3_600_000, "above Envoy's 1 h upstream idle timeout")
  assert.ok(DEFAULTS.shutdownGraceMs < 30_000 && DEFAULTS.shutdownDelayMs + DEFAULTS.maxDelayUs / 1000 < DEFAULTS.shutdownGraceMs)
  assert.ok(DEFAULTS.headersTimeoutMs <= DEFAULTS.requestTimeoutMs)
  const secret = 'short-secret'
  assert.throws(() => loadConfig([], { PODMETER_ADMIN_TOKEN: secret }), (err: Error) => {
    assert.match(err.message, /^PODMETER_ADMIN_TOKEN: the value is not a token of 16/)
    assert.ok(!err.message.includes(secret))
    return true
  })
  assert.throws(() => loadConfig(['--admin-token', 'abcdefghijklmnop'], {}), /unknown option/, 'no flag: flags show in ps')
  assert.throws(() => loadConfig([], { HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' }), { message: /^HEADERS_TIMEOUT_MS: must not be larger than REQUEST_TIMEOUT_MS/ })
  assert.throws(() => loadConfig([], { SHUTDOWN_DELAY_MS: '10000', SHUTDOWN_GRACE_MS: '10000' }), { message: /^SHUTDOWN_DELAY_MS: must be shorter than SHUTDOWN_GRACE_MS/ })
  assert.throws(() => loadConfig([], { STATS_RESET: 'maybe' }), { message: /^STATS_RESET: "maybe" is not on or off/ })
  assert.throws(() => loadConfig([], { MAX_CONNECTIONS: '0' }), { message: /^MAX_CONNECTIONS:/ })
})
