// The load generators' command lines and the parsing of what they print (real outputs of
// wrk 4.1 and hey 0.1.4, as Debian ships them).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { heyArgs, LoadGenError, parseHey, parseWrk, wrkArgs, wrkProxyScript } from './loadgen.js';

const WRK_OUT = `Running 2s test @ http://127.0.0.1:19001/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.62ms    6.85ms 101.98ms   92.31%
    Req/Sec     9.72k     2.33k   12.41k    70.00%
  19429 requests in 2.02s, 2.87MB read
Requests/sec:   9641.27
Transfer/sec:      1.43MB
`;

const WRK_ERRORS = `Running 2s test @ http://127.0.0.1:19001/
  1 threads and 32 connections
  19429 requests in 2.02s, 2.87MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 17
Requests/sec:   9641.27
`;

const HEY_OUT = `
Summary:
  Total:\t2.0016 secs
  Requests/sec:\t994.2180

Latency distribution:
  10% in 0.0003 secs
  25% in 0.0004 secs
  50% in 0.0005 secs
  75% in 0.0007 secs
  90% in 0.0008 secs
  95% in 0.0010 secs
  99% in 0.0027 secs

Details (average, fastest, slowest):
  DNS+dialup:\t0.0000 secs, 0.0001 secs, 0.0051 secs

Status code distribution:
  [200]\t1985 responses
  [503]\t5 responses

Error distribution:
  [3]\tGet "http://echo:9080/": dial tcp 127.0.0.1:1: connect: connection refused

`;

describe('wrk', () => {
  test('reads the request rate and counts errors', () => {
    assert.deepEqual(parseWrk(WRK_OUT), {
      requestsPerSec: 9641.27,
      requests: 19429,
      non2xx: 0,
      socketErrors: 0,
    });
    const bad = parseWrk(WRK_ERRORS);
    assert.equal(bad.non2xx, 17);
    assert.equal(bad.socketErrors, 6);
  });

  test('refuses output without a rate', () => {
    assert.throws(
      () => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'),
      LoadGenError,
    );
  });

  test('forward-proxy script puts the absolute URL in the request line and its Host', () => {
    assert.equal(
      wrkProxyScript('http://echo:9080/'),
      'wrk.path = "http://echo:9080/"\nwrk.headers["Host"] = "echo:9080"\n',
    );
    assert.deepEqual(
      wrkArgs({
        threads: 1,
        connections: 32,
        seconds: 8,
        url: 'http://127.0.0.1:1/',
        script: 's.lua',
      }),
      ['-t1', '-c32', '-d8s', '-s', 's.lua', 'http://127.0.0.1:1/'],
    );
  });
});

describe('hey', () => {
  test('reads rate, percentiles in seconds, and failures (non-2xx and errors)', () => {
    const r = parseHey(HEY_OUT);
    assert.equal(r.requestsPerSec, 994.218);
    assert.equal(r.percentiles.get(50), 0.0005);
    assert.equal(r.percentiles.get(99), 0.0027);
    assert.equal(r.responses, 1990);
    assert.equal(r.failures, 8);
  });

  test('ignores the 0% lines hey prints when it has too few samples, then refuses', () => {
    const few = HEY_OUT.replace(/ {2}50% in .*\n/, '  0% in 0.0000 secs\n');
    assert.throws(() => parseHey(few), LoadGenError);
  });

  test('splits the rate over the workers and goes through the proxy with -x', () => {
    assert.deepEqual(
      heyArgs({
        workers: 10,
        rate: 1000,
        seconds: 10,
        target: { connectUrl: 'http://127.0.0.1:5', proxiedUrl: 'http://echo:9080/' },
      }),
      ['-z', '10s', '-c', '10', '-q', '100', '-x', 'http://127.0.0.1:5', 'http://echo:9080/'],
    );
    assert.deepEqual(
      heyArgs({ workers: 4, rate: 1000, seconds: 2, target: { connectUrl: 'http://127.0.0.1:5' } }),
      ['-z', '2s', '-c', '4', '-q', '250', 'http://127.0.0.1:5/'],
    );
  });
});
