import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problems, withSpec, yaml } from '../testing.js';

/** A VirtualService named reviews whose spec is `body` (its first line is line 6 of the file). */
const vs = (body: string): string =>
  withSpec('networking.istio.io/v1', 'VirtualService', 'reviews', body);

const P = 'test.yaml:';
const VS = 'VirtualService default/reviews:';

describe('VirtualService HTTP routes', () => {
  const cases: [string, string, string[]][] = [
    [
      'bad duration',
      yaml`
        hosts: [reviews]
        http:
        - timeout: 5 seconds
          route:
          - destination: {host: reviews}
      `,
      [
        `${P}8: ${VS} spec.http[0].timeout: invalid duration "5 seconds": unknown unit " seconds" (use Go's format, e.g. "1.5s", "100ms", "1h2m")`,
      ],
    ],
    [
      'duration below 1ms',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          retries: {attempts: 3, perTryTimeout: 0.5ms}
      `,
      [
        `${P}10: ${VS} spec.http[0].retries.perTryTimeout: duration must be at least 1ms (got "0.5ms")`,
      ],
    ],
    [
      'RE2-incompatible regex (lookahead)',
      yaml`
        hosts: [reviews]
        http:
        - match:
          - uri:
              regex: "^/api/(?!internal)"
          route:
          - destination: {host: reviews}
      `,
      [
        `${P}10: ${VS} spec.http[0].match[0].uri.regex: invalid regex: lookahead (?!...) is not supported (Istio's regexes are RE2: https://github.com/google/re2/wiki/Syntax)`,
      ],
    ],
    [
      'regex that does not compile',
      yaml`
        hosts: [reviews]
        http:
        - match:
          - headers:
              x-version: {regex: "v[0-9"}
          route:
          - destination: {host: reviews}
      `,
      [
        `${P}10: ${VS} spec.http[0].match[0].headers.x-version.regex: invalid regex: Unterminated character class`,
      ],
    ],
    [
      'string match with two kinds',
      yaml`
        hosts: [reviews]
        http:
        - match:
          - uri: {exact: /a, prefix: /b}
          route:
          - destination: {host: reviews}
      `,
      [
        `${P}9: ${VS} spec.http[0].match[0].uri: only one of exact, prefix, regex may be set (found exact and prefix)`,
      ],
    ],
    [
      'empty string match',
      yaml`
        hosts: [reviews]
        http:
        - match:
          - method: {}
          route:
          - destination: {host: reviews}
      `,
      [`${P}9: ${VS} spec.http[0].match[0].method: must set one of exact, prefix or regex`],
    ],
    [
      'weights that do not add up to 100',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 50
          - destination: {host: reviews, subset: v2}
            weight: 40
      `,
      [
        `${P}8: ${VS} spec.http[0].route: weights of the 2 destinations must add up to 100 (they add up to 90)`,
      ],
    ],
    [
      'destination without host',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {subset: v1}
      `,
      [`${P}9: ${VS} spec.http[0].route[0].destination.host: required field is missing`],
    ],
    [
      'bad destination port',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination:
              host: reviews
              port: {number: 70000}
      `,
      [
        `${P}11: ${VS} spec.http[0].route[0].destination.port.number: port number 70000 must be in the range 1..65535`,
      ],
    ],
    [
      'bad subset name',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews, subset: V1}
      `,
      [
        `${P}9: ${VS} spec.http[0].route[0].destination.subset: invalid subset name "V1": use a DNS label (lower-case letters, digits, '-')`,
      ],
    ],
    [
      'redirect together with route',
      yaml`
        hosts: [reviews]
        http:
        - redirect: {uri: /v2}
          route:
          - destination: {host: reviews}
      `,
      [`${P}9: ${VS} spec.http[0].route: cannot set both redirect and route`],
    ],
    [
      'direct response together with route',
      yaml`
        hosts: [reviews]
        http:
        - directResponse: {status: 503}
          route:
          - destination: {host: reviews}
      `,
      [`${P}9: ${VS} spec.http[0].route: cannot set both directResponse and route`],
    ],
    [
      'a route that does nothing',
      yaml`
        hosts: [reviews]
        http:
        - name: nothing
          timeout: 1s
      `,
      [`${P}8: ${VS} spec.http[0]: one of route, redirect, directResponse or delegate is required`],
    ],
    [
      'redirect without a target',
      yaml`
        hosts: [reviews]
        http:
        - redirect: {redirectCode: 301}
      `,
      [`${P}8: ${VS} spec.http[0].redirect: redirect must set uri, authority, scheme or port`],
    ],
    [
      'direct response status out of range',
      yaml`
        hosts: [reviews]
        http:
        - directResponse: {status: 700}
      `,
      [`${P}8: ${VS} spec.http[0].directResponse.status: HTTP status 700 is not in range 200..599`],
    ],
    [
      'invalid header name in a match',
      yaml`
        hosts: [reviews]
        http:
        - match:
          - headers:
              "bad header": {exact: x}
          route:
          - destination: {host: reviews}
      `,
      [
        `${P}10: ${VS} spec.http[0].match[0].headers["bad header"]: invalid header name "bad header"`,
      ],
    ],
    [
      'JWT claim routing without a gateway',
      yaml`
        hosts: [reviews]
        http:
        - match:
          - headers:
              "@request.auth.claims.group": {exact: admin}
          route:
          - destination: {host: reviews}
      `,
      [
        `${P}10: ${VS} spec.http[0].match[0].headers["@request.auth.claims.group"]: routing on JWT claims is only supported for VirtualServices bound to gateways`,
      ],
    ],
    [
      'retries with attempts 0',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          retries: {perTryTimeout: 2s}
      `,
      [
        `${P}10: ${VS} spec.http[0].retries.attempts: retries are configured but attempts is 0 (retries disabled); set attempts`,
      ],
    ],
    [
      'bad retryOn',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          retries: {attempts: 2, retryOn: "5xx,sometimes"}
      `,
      [
        `${P}10: ${VS} spec.http[0].retries.retryOn: "sometimes" is not a valid retryOn policy (e.g. 5xx, gateway-error, connect-failure, reset, 503)`,
      ],
    ],
    [
      'fault delay with a bad duration and percentage',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          fault:
            delay:
              fixedDelay: 7x
              percentage: {value: 150}
      `,
      [
        `${P}12: ${VS} spec.http[0].fault.delay.fixedDelay: invalid duration "7x": unknown unit "x" (use Go's format, e.g. "1.5s", "100ms", "1h2m")`,
        `${P}13: ${VS} spec.http[0].fault.delay.percentage.value: percentage must be between 0 and 100 (got 150)`,
      ],
    ],
    [
      'fault abort with an unknown gRPC status',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          fault:
            abort: {grpcStatus: BROKEN}
      `,
      [
        `${P}11: ${VS} spec.http[0].fault.abort.grpcStatus: unknown gRPC status "BROKEN" (use a name such as UNAVAILABLE or NOT_FOUND)`,
      ],
    ],
    [
      'empty fault',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          fault: {}
      `,
      [`${P}10: ${VS} spec.http[0].fault: fault needs an abort or a delay`],
    ],
    [
      'rewrite with uri and uriRegexRewrite',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          rewrite:
            uri: /v2
            uriRegexRewrite: {match: "^/v1(.*)", rewrite: '/v2\1'}
      `,
      [
        `${P}12: ${VS} spec.http[0].rewrite.uriRegexRewrite: cannot set both uri and uriRegexRewrite`,
      ],
    ],
    [
      'mirror and mirrors',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          mirror: {host: shadow}
          mirrors:
          - destination: {host: shadow2}
      `,
      [`${P}11: ${VS} spec.http[0].mirrors: cannot set both mirror and mirrors`],
    ],
    [
      'CORS method',
      yaml`
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
          corsPolicy:
            allowMethods: [GET, FETCH]
      `,
      [
        `${P}11: ${VS} spec.http[0].corsPolicy.allowMethods[1]: "FETCH" is not a supported HTTP method`,
      ],
    ],
  ];

  for (const [title, body, expected] of cases) {
    it(title, () => {
      assert.deepEqual(problems(vs(body)), expected);
    });
  }
});
