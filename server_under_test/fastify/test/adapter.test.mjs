// Tests of adapter.mjs: spawns it, speaks the target protocol and sends real HTTP over loopback.
//
// Expected traces come from fastify-lifecycle.md (observed on real Fastify by its probes), not
// from this adapter; versions are read from the installed packages.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ADAPTER = new URL('../adapter.mjs', import.meta.url).pathname
const installed = alias =>
  JSON.parse(readFileSync(new URL(`../node_modules/${alias}/package.json`, import.meta.url), 'utf8')).version

// ---------------------------------------------------------------------------------------------
// A running adapter process

const running = new Set()

class Target {
  constructor (args = [], env = process.env) {
    this.events = []
    this.stderr = ''
    this.waiters = []
    this.proc = spawn(process.execPath, [ADAPTER, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
    running.add(this)
    let buf = ''
    this.proc.stdout.setEncoding('utf8')
    this.proc.stdout.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        this.events.push(JSON.parse(line))
        this.wake()
      }
    })
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', (d) => { this.stderr += d })
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        running.delete(this)
        this.exitInfo = { code, signal }
        this.wake()
        resolve(this.exitInfo)
      })
    })
  }

  wake () {
    for (const w of [...this.waiters]) w()
  }

  send (cmd) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n')
  }

  /** The first event at index >= from matching pred; waits for it. */
  waitFor (pred, { from = 0, timeoutMs = 5000 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.events.findIndex((e, k) => k >= from && pred(e))
        if (i >= 0) { done(); resolve(this.events[i]); return true }
        if (this.exitInfo) { done(); reject(new Error(`adapter exited ${JSON.stringify(this.exitInfo)}; stderr:\n${this.stderr}`)); return true }
        return false
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`timeout waiting; events so far:\n${this.events.map(e => JSON.stringify(e)).join('\n')}\nstderr:\n${this.stderr}`))
      }, timeoutMs)
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter(w => w !== check) }
      if (!check()) this.waiters.push(check)
    })
  }

  /** Waits until no event arrived for `ms`. */
  async quiet (ms = 150) {
    for (;;) {
      const n = this.events.length
      await sleep(ms)
      if (this.events.length === n) return
    }
  }

  async hello () {
    return this.waitFor(e => e.t === 'hello')
  }

  /** Sends load; resolves with the `ready`, `unsupported` or `loadError` event that answers it. */
  async load (app, extra = {}) {
    const from = this.events.length
    this.send({ cmd: 'load', scenario: 'test', app, dialect: 'fastify', ...extra })
    return this.waitFor(e => e.t === 'ready' || e.t === 'unsupported' || e.t === 'loadError', { from })
  }

  async close () {
    const from = this.events.length
    this.send({ cmd: 'close' })
    return this.waitFor(e => e.t === 'closed', { from })
  }

  of (req) { return this.events.filter(e => e.req === req) }
  trace (req) { return this.of(req).filter(e => e.t === 'cb').map(e => e.label) }
  ends (req) { return this.of(req).filter(e => e.t === 'end') }

  async stop () {
    if (this.exitInfo) return
    this.send({ cmd: 'exit' })
    await Promise.race([this.exited, sleep(4000)])
    if (!this.exitInfo) this.proc.kill('SIGKILL')
  }
}

after(async () => {
  for (const t of running) await t.stop()
})

function sleep (ms) { return new Promise(resolve => setTimeout(resolve, ms)) }

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: writes the request as the harness does (scenario-format §1.4) plus
// `connection: close`, reads until the socket closes, and tells whether the body was complete.

function request (port, { method = 'GET', url = '/', id, headers = {}, body, bodyBytes, abortAfterMs } = {}) {
  return new Promise((resolve) => {
    let head = `${method} ${url} HTTP/1.1\r\nhost: 127.0.0.1\r\n`
    if (id !== undefined) head += `x-lifecheck-req: ${id}\r\n`
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
    head += 'connection: close\r\n'
    if (body !== undefined) head += `content-length: ${Buffer.byteLength(body)}\r\n`
    head += '\r\n'
    const sock = net.connect(port, '127.0.0.1')
    const chunks = []
    let settled = false
    const finish = (how) => {
      if (settled) return
      settled = true
      resolve(parseResponse(Buffer.concat(chunks), how))
    }
    sock.on('connect', () => {
      // bodyBytes: write only that many body bytes (content-length still announces all of them)
      sock.write(head + (body ?? '').slice(0, bodyBytes))
      if (abortAfterMs !== undefined) setTimeout(() => { sock.destroy(); finish('client-aborted') }, abortAfterMs)
    })
    sock.on('data', d => chunks.push(d))
    sock.on('error', () => finish('error'))
    sock.on('close', () => finish('server-closed'))
  })
}

function parseResponse (buf, how) {
  const text = buf.toString('latin1')
  const sep = text.indexOf('\r\n\r\n')
  if (sep < 0) return { how, status: undefined, headers: {}, body: '', complete: false, raw: text }
  const [statusLine, ...lines] = text.slice(0, sep).split('\r\n')
  const headers = {}
  for (const l of lines) {
    const c = l.indexOf(':')
    headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim()
  }
  let rest = buf.subarray(Buffer.byteLength(text.slice(0, sep + 4), 'latin1'))
  let body = ''
  let complete
  if (headers['transfer-encoding'] === 'chunked') {
    complete = false
    const parts = []
    for (;;) {
      const s = rest.toString('latin1')
      const nl = s.indexOf('\r\n')
      if (nl < 0) break
      const size = parseInt(s.slice(0, nl), 16)
      if (Number.isNaN(size)) break
      if (size === 0) { complete = true; break }
      if (rest.length < nl + 2 + size) { parts.push(rest.subarray(nl + 2)); break }
      parts.push(rest.subarray(nl + 2, nl + 2 + size))
      rest = rest.subarray(nl + 2 + size + 2)
    }
    body = Buffer.concat(parts).toString('utf8')
  } else {
    body = rest.toString('utf8')
    complete = headers['content-length'] === undefined || rest.length >= Number(headers['content-length'])
  }
  return { how, status: Number(statusLine.split(' ')[1]), headers, body, complete }
}

/** Starts an adapter, loads `app`, returns { t, port, ready }. */
async function started (app, args = [], env = process.env) {
  const t = new Target(args, env)
  await t.hello()
  const ready = await t.load(app)
  assert.equal(ready.t, 'ready', JSON.stringify(ready))
  return { t, port: ready.port, ready }
}

/** Waits for the request's `end`, then for quiet, so callbacks after `end` are collected too. */
async function settle (t, id) {
  await t.waitFor(e => e.t === 'end' && e.req === id)
  await t.quiet()
}

// ---------------------------------------------------------------------------------------------

describe('protocol', () => {
  test('hello comes first and names the loaded Fastify', async () => {
    const t = new Target()
    const hello = await t.hello()
    assert.deepEqual(t.events[0], hello)
    assert.equal(hello.target, 'fastify')
    assert.equal(hello.version, installed('fastify'))
    assert.deepEqual(hello.dialects, ['fastify'])
    assert.ok(Array.isArray(hello.features))
    await t.stop()
    assert.equal(t.exitInfo.code, 0)
  })

  test('onReady before ready; cb events then one end per request; ids from the header or auto-N', async () => {
    const { t, port } = await started({
      hooks: {
        onReady: [{}],
        onRequest: [{}],
        onSend: [{}],
        onResponse: [{}],
        preClose: [{}],
        onClose: [{}]
      },
      routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'json', value: { ok: true } } } }]
    })
    const readyAt = t.events.findIndex(e => e.t === 'ready')
    assert.deepEqual(t.events.slice(1, readyAt).map(e => [e.req, e.label, e.phase]), [['app', 'onReady@root', 'onReady']])

    const r = await request(port, { id: 'r1' })
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.body), { ok: true })
    await settle(t, 'r1')
    // fastify-lifecycle §2.2 phase order; `end` follows res 'close', i.e. after onResponse started (D8).
    assert.deepEqual(t.of('r1').map(e => e.t === 'cb' ? e.label : `end:${e.status}:${e.aborted}`),
      ['onRequest@root', 'handler', 'onSend@root', 'onResponse@root', 'end:200:false'])
    const handlerCb = t.of('r1').find(e => e.label === 'handler')
    assert.deepEqual(handlerCb, { t: 'cb', req: 'r1', label: 'handler', phase: 'handler', scope: 'root' })

    // No x-lifecheck-req: a target-made id; a 404 with Fastify's own handler still gets its end.
    const nf = await request(port, { url: '/nope' })
    assert.equal(nf.status, 404)
    await settle(t, 'auto-1')
    assert.deepEqual(t.trace('auto-1'), ['onRequest@root', 'onSend@root', 'onResponse@root'])
    assert.deepEqual(t.ends('auto-1'), [{ t: 'end', req: 'auto-1', status: 404, aborted: false }])
    const second = await request(port, {})
    assert.equal(second.status, 200)
    await settle(t, 'auto-2')
    assert.equal(t.ends('auto-2').length, 1)

    const from = t.events.length
    await t.close()
    assert.deepEqual(t.events.slice(from).map(e => e.t === 'cb' ? `${e.req}:${e.label}` : e.t),
      ['app:preClose@root', 'app:onClose@root', 'closed'])
    await t.stop()
    assert.equal(t.exitInfo.code, 0)
  })

  test('unsupported apps are reported, and the adapter keeps serving', async () => {
    const t = new Target()
    await t.hello()
    const koa = await t.load({ middleware: [] }, { dialect: 'koa' })
    assert.equal(koa.t, 'unsupported')
    assert.match(koa.what, /koa/)
    const rethrowInHook = await t.load({ hooks: { onRequest: [{ do: 'rethrow' }] } })
    assert.equal(rethrowInHook.t, 'unsupported')
    assert.match(rethrowInHook.what, /rethrow/)
    const badPhase = await t.load({ hooks: { onFoo: [{}] } })
    assert.equal(badPhase.t, 'unsupported')
    const ok = await t.load({ routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'string', value: 'hi' } } }] })
    assert.equal(ok.t, 'ready')
    const r = await request(ok.port, { id: 'r1' })
    assert.equal(r.body, 'hi')
    await t.stop()
  })

  test('a route method the selected release does not route is unsupported, not a crash', async () => {
    // Issue 19: route() throws at start for such a method, and that ended the adapter (CRASH).
    // QUERY is routed from Fastify 5.11.0 on; 5.10.0 refuses it.
    const query = { routes: [{ method: 'query', url: '/', handler: {} }] }
    const old = new Target(['--fastify', '5.10.0'])
    await old.hello()
    const refused = await old.load(query)
    assert.equal(refused.t, 'unsupported')
    assert.match(refused.what, /\$\.app\.routes\[0\]\.method: fastify 5\.10\.0 does not route query/)
    assert.equal((await old.load({ routes: [{ method: 'get', url: '/', handler: {} }] })).t, 'ready')
    await old.stop()
    assert.equal(old.exitInfo.code, 0)
    const current = new Target()
    await current.hello()
    assert.equal((await current.load(query)).t, 'ready')
    assert.equal((await current.load({ routes: [{ method: 'GETT', url: '/', handler: {} }] })).t, 'unsupported')
    await current.stop()
  })

  test('handlerTimeoutMs on a release without handlerTimeout is unsupported, not ignored', async () => {
    // scenario-format §1.11: 5.2.0 has no kHandlerTimeout and would drop the option silently.
    const app = { options: { handlerTimeoutMs: 50 }, routes: [{ url: '/', handler: {}, handlerTimeoutMs: 20 }] }
    const old = new Target(['--fastify', '5.2.0'])
    await old.hello()
    const refused = await old.load(app)
    assert.equal(refused.t, 'unsupported')
    assert.match(refused.what, /handlerTimeoutMs: fastify 5\.2\.0 has no handlerTimeout/)
    await old.stop()
    const current = new Target()
    await current.hello()
    assert.equal((await current.load(app)).t, 'ready')
    await current.stop()
  })

  test('a load replaces the previous app; flags start unset again', async () => {
    const app = {
      routes: [
        { method: 'GET', url: '/set', handler: { set: { flag: 'ready', value: true }, payload: { kind: 'string', value: 'set' } } },
        {
          method: 'GET',
          url: '/',
          handler: { when: { flag: 'ready', is: true }, do: 'send', payload: { kind: 'string', value: 'ready' } }
        }
      ]
    }
    const { t, port } = await started(app)
    await request(port, { id: 'a', url: '/set' })
    assert.equal((await request(port, { id: 'b' })).body, 'ready')
    const again = await t.load(app)
    assert.equal(again.t, 'ready')
    // `when` false in an async handler: it returns undefined, which Fastify answers with an empty 200.
    const r = await request(again.port, { id: 'c' })
    assert.equal(r.status, 200)
    assert.equal(r.body, '')
    await t.stop()
  })

  test('--no-trace: the app answers as usual, but no cb or end event is sent (bench/throughput.sh)', async () => {
    const { t, port } = await started({
      hooks: { onRequest: [{}], onSend: [{}], onResponse: [{}] },
      routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'json', value: { ok: true } } } }]
    }, ['--no-trace'])
    const r = await request(port, { id: 'n1' })
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.body), { ok: true })
    await t.quiet()
    assert.deepEqual(t.events.filter(e => e.t === 'cb' || e.t === 'end'), [])
    await t.stop()
  })
})

describe('idle (scenario-format §3.1, v2.6)', () => {
  test('hello lists idle; idle waits for a timer a callback set after the end, then answers with the id', async () => {
    const { t, port } = await started({
      hooks: { onResponse: [{ delayMs: 150 }, {}] },
      routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'json', value: { ok: true } } } }]
    })
    assert.ok(t.events[0].features.includes('idle'))
    const r = await request(port, { id: 'r1' })
    assert.equal(r.status, 200)
    await t.waitFor(e => e.t === 'end' && e.req === 'r1')
    const asked = Date.now()
    const from = t.events.length
    t.send({ cmd: 'idle', id: 7 })
    const idle = await t.waitFor(e => e.t === 'idle', { from })
    assert.equal(idle.id, 7)
    // the second onResponse hook runs 150 ms after the first: after `end`, before `idle`
    const second = t.events.findIndex(e => e.req === 'r1' && e.label === 'onResponse@root#1')
    assert.ok(second >= 0, JSON.stringify(t.events))
    assert.ok(second < t.events.indexOf(idle), JSON.stringify(t.events))
    assert.ok(Date.now() - asked >= 100)
    await t.stop()
  })

  test('with nothing pending idle comes at once, also before any load', async () => {
    const t = new Target()
    await t.hello()
    const asked = Date.now()
    t.send({ cmd: 'idle', id: 1 })
    assert.equal((await t.waitFor(e => e.t === 'idle')).id, 1)
    const ready = await t.load({ routes: [{ method: 'GET', url: '/', handler: {} }] })
    assert.equal((await request(ready.port, { id: 'r1' })).status, 200)
    await t.waitFor(e => e.t === 'end' && e.req === 'r1')
    const from = t.events.length
    t.send({ cmd: 'idle', id: 2 })
    assert.equal((await t.waitFor(e => e.t === 'idle', { from })).id, 2)
    assert.ok(Date.now() - asked < 2000)
    await t.stop()
  })
})

describe('labels and registration order', () => {
  test('default labels: PHASE@SCOPE, #N over hooks then late.hooks, route hooks, handlers', async () => {
    const { t, port } = await started({
      hooks: { preHandler: [{}, {}], onSend: [{}] },
      errorHandler: { do: 'send', status: 500, payload: { kind: 'string', value: 'root' } },
      notFoundHandler: { do: 'send', status: 404, payload: { kind: 'string', value: 'nf' } },
      plugins: [{
        name: 'v1',
        prefix: '/v1',
        hooks: { onRequest: [{}] },
        routes: [{
          method: 'GET',
          url: '/x',
          hooks: { onRequest: [{}, { label: 'mine' }], preHandler: [{}] },
          handler: { do: 'throw' }
        }]
      }],
      late: { hooks: { preHandler: [{}] } }
    })
    await request(port, { id: 'r1', url: '/v1/x' })
    await settle(t, 'r1')
    assert.deepEqual(t.of('r1').filter(e => e.t === 'cb').map(e => [e.label, e.phase, e.scope]), [
      ['onRequest@v1', 'onRequest', 'v1'],
      ['onRequest@route#0', 'onRequest', 'v1'],
      ['mine', 'onRequest', 'v1'],
      ['preHandler@root#0', 'preHandler', 'root'],
      ['preHandler@root#1', 'preHandler', 'root'],
      ['preHandler@root#2', 'preHandler', 'root'],
      ['preHandler@route', 'preHandler', 'v1'],
      ['handler', 'handler', 'v1'],
      ['errorHandler@root', 'errorHandler', 'root'],
      ['onSend@root', 'onSend', 'root']
    ])
    const nf = await request(port, { id: 'r2', url: '/missing' })
    assert.equal(nf.body, 'nf')
    await settle(t, 'r2')
    assert.deepEqual(t.of('r2').filter(e => e.t === 'cb').map(e => [e.label, e.phase]), [
      ['preHandler@root#0', 'preHandler'],
      ['preHandler@root#1', 'preHandler'],
      ['preHandler@root#2', 'preHandler'],
      ['notFound@root', 'notFound'],
      ['onSend@root', 'onSend']
    ])
    await t.stop()
  })

  test('hooks run in the order they were applied, not by depth (fastify-lifecycle §3.2, probe e02)', async () => {
    const { t, port } = await started({
      hooks: { onRequest: [{ label: 'R0' }] },
      plugins: [{
        name: 'child',
        prefix: '/child',
        hooks: { onRequest: [{ label: 'C0' }] },
        plugins: [
          { name: 'fp', encapsulate: false, hooks: { onRequest: [{ label: 'F' }] } },
          {
            name: 'grand',
            prefix: '/gc',
            hooks: { onRequest: [{ label: 'G0' }] },
            routes: [{
              method: 'GET',
              url: '/g',
              hooks: { onRequest: [{ label: 'route#0' }, { label: 'route#1' }] },
              handler: { payload: { kind: 'string', value: 'g' } }
            }]
          }
        ],
        late: { hooks: { onRequest: [{ label: 'C1' }] } }
      }],
      late: { hooks: { onRequest: [{ label: 'R1' }] } }
    })
    const r = await request(port, { id: 'g', url: '/child/gc/g' })
    assert.equal(r.body, 'g')
    await settle(t, 'g')
    assert.deepEqual(t.trace('g'), ['R0', 'C0', 'F', 'G0', 'C1', 'R1', 'route#0', 'route#1', 'handler'])
    // the fastify-plugin scope's hook is traced under its own name
    assert.equal(t.of('g').find(e => e.label === 'F').scope, 'fp')
    await t.stop()
  })
})

describe('errors', () => {
  const chainApp = (awaitChild) => ({
    plugins: [{
      name: 'v1',
      prefix: '/v1',
      await: awaitChild,
      errorHandler: { do: 'rethrow' },
      routes: [{ method: 'GET', url: '/x', handler: { do: 'throw', error: { message: 'kaboom', statusCode: 503 } } }]
    }],
    late: { errorHandler: { do: 'send', status: 500, payload: { kind: 'json', value: { handledBy: 'root' } } } }
  })

  test('a rethrowing child error handler passes the error up to the root one', async () => {
    const { t, port } = await started(chainApp(false))
    const r = await request(port, { id: 'e1', url: '/v1/x' })
    assert.equal(r.status, 500)
    assert.deepEqual(JSON.parse(r.body), { handledBy: 'root' })
    await settle(t, 'e1')
    assert.deepEqual(t.trace('e1'), ['handler', 'errorHandler@v1', 'errorHandler@root'])
    await t.stop()
  })

  test('after `await register`, a root handler set later is not in the child chain (fastify-lifecycle §4.3, e16)', async () => {
    const { t, port } = await started(chainApp(true))
    const r = await request(port, { id: 'e2', url: '/v1/x' })
    // the default handler answers with the error's statusCode
    assert.equal(r.status, 503)
    assert.deepEqual(JSON.parse(r.body), { statusCode: 503, error: 'Service Unavailable', message: 'kaboom' })
    await settle(t, 'e2')
    assert.deepEqual(t.trace('e2'), ['handler', 'errorHandler@v1'])
    await t.stop()
  })
})

describe('aborts and server-side cuts', () => {
  test('a client closing while the handler runs: end aborted:true, onRequestAbort, no onResponse', async () => {
    const { t, port } = await started({
      hooks: { onRequestAbort: [{}], onResponse: [{}] },
      routes: [{ method: 'GET', url: '/slow', handler: { delayMs: 400, do: 'send', payload: { kind: 'string', value: 'late' } } }]
    })
    const r = await request(port, { id: 'a1', url: '/slow', abortAfterMs: 100 })
    assert.equal(r.how, 'client-aborted')
    await settle(t, 'a1')
    const ends = t.ends('a1')
    assert.equal(ends.length, 1)
    assert.equal(ends[0].aborted, true)
    const trace = t.trace('a1')
    assert.ok(trace.includes('onRequestAbort@root'), trace.join())
    assert.ok(!trace.includes('onResponse@root'), trace.join())
    await t.stop()
  })

  test('a client closing during the body upload: aborted:true; onError runs before onRequestAbort (fastify-lifecycle §7)', async () => {
    const { t, port } = await started({
      hooks: { onError: [{}], onRequestAbort: [{}], onSend: [{}] },
      errorHandler: { do: 'send', status: 500, payload: { kind: 'string', value: 'eh' } },
      routes: [{ method: 'POST', url: '/', handler: {} }]
    })
    const r = await request(port, {
      id: 'u1', method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(100), bodyBytes: 10, abortAfterMs: 100
    })
    assert.equal(r.how, 'client-aborted')
    await settle(t, 'u1')
    assert.deepEqual(t.ends('u1').map(e => e.aborted), [true])
    assert.deepEqual(t.trace('u1'), ['onError@root', 'onRequestAbort@root', 'errorHandler@root', 'onSend@root'])
    await t.stop()
  })

  test('a stream failing midway: truncated body, end aborted:false, onRequestAbort but no onResponse', async () => {
    const { t, port } = await started({
      hooks: { onRequestAbort: [{}], onResponse: [{}] },
      routes: [{
        method: 'GET',
        url: '/s',
        handler: { do: 'send', payload: { kind: 'stream', chunks: ['one;', 'two;', 'three;'], chunkDelayMs: 30, failAfterChunks: 2 } }
      }]
    })
    const r = await request(port, { id: 's1', url: '/s' })
    assert.equal(r.status, 200)
    assert.equal(r.complete, false)
    assert.equal(r.body, 'one;two;')
    await settle(t, 's1')
    assert.deepEqual(t.ends('s1').map(e => e.aborted), [false])
    assert.deepEqual(t.trace('s1'), ['handler', 'onRequestAbort@root'])
    await t.stop()
  })

  test('a connectionTimeout cut is not a client abort', async () => {
    const { t, port } = await started({
      options: { connectionTimeoutMs: 200 },
      hooks: { onTimeout: [{}], onRequestAbort: [{}] },
      routes: [{ method: 'GET', url: '/', handler: { do: 'hang' } }]
    })
    const r = await request(port, { id: 't1' })
    assert.equal(r.status, undefined) // no response at all (fastify-lifecycle §8)
    await settle(t, 't1')
    assert.deepEqual(t.ends('t1').map(e => e.aborted), [false])
    assert.deepEqual(t.trace('t1'), ['handler', 'onTimeout@root', 'onRequestAbort@root'])
    await t.stop()
  })
})

describe('payloads', () => {
  test('a shared Response sent twice: the second send is FST_ERR_REP_RESPONSE_BODY_CONSUMED', async () => {
    const { t, port } = await started({
      routes: [{
        method: 'GET',
        url: '/r',
        handler: {
          do: 'send',
          payload: { kind: 'response', status: 201, headers: { 'x-from-response': 'yes' }, body: { kind: 'string', value: 'hello' }, shared: 'r' }
        }
      }]
    })
    const first = await request(port, { id: 'p1', url: '/r' })
    assert.equal(first.status, 201)
    assert.equal(first.body, 'hello')
    const second = await request(port, { id: 'p2', url: '/r' })
    assert.equal(second.status, 500)
    assert.equal(JSON.parse(second.body).code, 'FST_ERR_REP_RESPONSE_BODY_CONSUMED')
    assert.equal(second.headers['x-from-response'], 'yes') // fastify-lifecycle §6: Response headers leak
    await settle(t, 'p2')
    assert.deepEqual(t.ends('p2').map(e => e.status), [500])
    await t.stop()
  })

  test('hijack writes raw bytes; onResponse still runs', async () => {
    const { t, port } = await started({
      hooks: { onResponse: [{}] },
      routes: [{ method: 'GET', url: '/', handler: { do: 'hijack', status: 202, headers: { 'x-raw': '1' }, payload: { kind: 'json', value: { raw: true } } } }]
    })
    const r = await request(port, { id: 'h1' })
    assert.equal(r.status, 202)
    assert.equal(r.headers['x-raw'], '1')
    assert.equal(r.headers['content-type'], undefined)
    assert.deepEqual(JSON.parse(r.body), { raw: true })
    await settle(t, 'h1')
    assert.deepEqual(t.trace('h1'), ['handler', 'onResponse@root'])
    await t.stop()
  })

  test('delay-accepting-requests guide: callback onRequest sendThenContinue while a flag is unset', async () => {
    const { t, port } = await started({
      routes: [{ method: 'POST', url: '/webhook', handler: { set: { flag: 'ready', value: true }, payload: { kind: 'string', value: 'ok' } } }],
      plugins: [{
        name: 'v1',
        prefix: '/v1',
        hooks: {
          onRequest: [{
            style: 'callback',
            when: { flag: 'ready', is: false },
            do: 'sendThenContinue',
            status: 503,
            headers: { 'retry-after': '5000' },
            payload: { kind: 'json', value: { error: true, retryInMs: 5000 } }
          }]
        },
        routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'json', value: { hello: 'world' } } } }]
      }]
    })
    const early = await request(port, { id: 'g1', url: '/v1' })
    assert.equal(early.status, 503)
    assert.equal(early.headers['retry-after'], '5000')
    assert.deepEqual(JSON.parse(early.body), { error: true, retryInMs: 5000 })
    await settle(t, 'g1')
    // no async reply hook: the send completes synchronously and the rest is skipped (fastify-lifecycle §2.4)
    assert.deepEqual(t.trace('g1'), ['onRequest@v1'])
    await request(port, { id: 'g2', url: '/webhook', method: 'POST', body: '' })
    const later = await request(port, { id: 'g3', url: '/v1' })
    assert.equal(later.status, 200)
    assert.deepEqual(JSON.parse(later.body), { hello: 'world' })
    await settle(t, 'g3')
    assert.deepEqual(t.trace('g3'), ['onRequest@v1', 'handler'])
    await t.stop()
  })
})

describe('npmPlugins (scenario-format §1.1 step 0)', () => {
  const FIXTURES = new URL('../testdata/plugins/', import.meta.url).pathname
  const withFixtures = { ...process.env, NODE_PATH: FIXTURES }
  const traced = {
    hooks: { onRequest: [{}], onSend: [{}], onResponse: [{}] },
    routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'json', value: { ok: true } } } }]
  }

  test('@fastify/cors at the root: its header on the reply, the trace unchanged; ready names its version', async () => {
    const { t, port, ready } = await started({ npmPlugins: [{ name: '@fastify/cors', options: { origin: '*' } }], ...traced })
    assert.deepEqual(ready.npmPlugins, [{ name: '@fastify/cors', version: installed('@fastify/cors') }])
    const r = await request(port, { id: 'r1', headers: { origin: 'http://example.test' } })
    assert.equal(r.status, 200)
    assert.equal(r.headers['access-control-allow-origin'], '*')
    await settle(t, 'r1')
    assert.deepEqual(t.trace('r1'), ['onRequest@root', 'handler', 'onSend@root', 'onResponse@root'])
    await t.stop()
  })

  test('registered first and awaited: the plugin\'s onRequest answers before the scope\'s own hooks run', async () => {
    const { t, port, ready } = await started({
      npmPlugins: [{ name: 'lifecheck-test-plugin', version: '0.1', options: { answer: 418, tag: 'first' } }],
      ...traced
    }, [], withFixtures)
    assert.deepEqual(ready.npmPlugins, [{ name: 'lifecheck-test-plugin', version: '0.1.0' }])
    const r = await request(port, { id: 'r1' })
    assert.equal(r.status, 418)
    assert.equal(r.body, 'from plugin')
    assert.equal(r.headers['x-test-plugin'], 'first') // the options reached register()
    await settle(t, 'r1')
    assert.deepEqual(t.trace('r1'), ['onSend@root', 'onResponse@root']) // onRequest@root never ran
    await t.stop()
  })

  test('in an encapsulated plugin it acts on that plugin\'s routes only; an absolute path works too', async () => {
    const { t, port } = await started({
      routes: [{ url: '/', handler: {} }],
      plugins: [{
        name: 'v1',
        prefix: '/v1',
        npmPlugins: [{ name: `${FIXTURES}lifecheck-test-plugin`, options: { answer: 409 } }],
        routes: [{ url: '/x', handler: {} }]
      }]
    })
    assert.equal((await request(port, { id: 'r1', url: '/v1/x' })).status, 409)
    const root = await request(port, { id: 'r2' })
    assert.equal(root.status, 200)
    assert.equal(root.headers['x-test-plugin'], undefined)
    await t.stop()
  })

  test('a missing package is a loadError naming it and how to install it; the adapter keeps serving', async () => {
    const t = new Target()
    await t.hello()
    const missing = await t.load({ npmPlugins: [{ name: '@lifecheck/not-installed' }] })
    assert.equal(missing.t, 'loadError')
    assert.match(missing.what, /npm plugin '@lifecheck\/not-installed' is not installed/)
    assert.match(missing.what, /npm install @lifecheck\/not-installed/)
    const again = await t.load({ routes: [{ url: '/', handler: {} }] })
    assert.equal(again.t, 'ready')
    await t.stop()
    assert.equal(t.exitInfo.code, 0)
  })

  test('a version that is not installed is a loadError; a prefix of the installed one loads', async () => {
    const t = new Target()
    await t.hello()
    const cors = installed('@fastify/cors')
    const wrong = await t.load({ npmPlugins: [{ name: '@fastify/cors', version: '10' }] })
    assert.equal(wrong.t, 'loadError')
    assert.match(wrong.what, new RegExp(`is installed at ${cors.replaceAll('.', '\\.')} .*not 10`))
    assert.match(wrong.what, /npm install @fastify\/cors@10/)
    const ok = await t.load({ npmPlugins: [{ name: '@fastify/cors', version: cors.split('.')[0] }] })
    assert.equal(ok.t, 'ready')
    await t.stop()
  })
})

describe('crashes are not caught', () => {
  test('locked web stream + callback onSend calling done from a timer kills the process (fastify-lifecycle §2.7, e27)', async () => {
    const { t, port } = await started({
      hooks: { onSend: [{ style: 'callback', delayMs: 5 }] },
      routes: [{ method: 'GET', url: '/locked', handler: { do: 'send', payload: { kind: 'webStream', chunks: ['x'], locked: true } } }]
    })
    request(port, { id: 'c1', url: '/locked' })
    const exit = await Promise.race([t.exited, sleep(3000).then(() => 'still running')])
    assert.notEqual(exit, 'still running')
    assert.notEqual(exit.code, 0)
    assert.match(t.stderr, /FST_ERR_REP_READABLE_STREAM_LOCKED/)
    assert.deepEqual(t.trace('c1'), ['handler', 'onSend@root'])
  })

  test('the same app with a synchronous done() is answered with a 500 instead', async () => {
    const { t, port } = await started({
      hooks: { onSend: [{ style: 'callback' }] },
      routes: [{ method: 'GET', url: '/locked', handler: { do: 'send', payload: { kind: 'webStream', chunks: ['x'], locked: true } } }]
    })
    const r = await request(port, { id: 'c2', url: '/locked' })
    assert.equal(r.status, 500)
    assert.equal(JSON.parse(r.body).code, 'FST_ERR_REP_READABLE_STREAM_LOCKED')
    await settle(t, 'c2')
    assert.equal(t.exitInfo, undefined)
    await t.stop()
  })
})

describe('--fastify version selection', () => {
  const simple = { routes: [{ method: 'GET', url: '/', handler: { payload: { kind: 'json', value: { v: 1 } } } }] }

  for (const [arg, alias] of [['5.2.0', 'fastify-5.2.0'], ['5.2', 'fastify-5.2.1'], ['4', 'fastify-4'], ['5', 'fastify']]) {
    test(`--fastify ${arg} loads ${alias}`, async () => {
      const { t, port } = await started(simple, ['--fastify', arg])
      assert.equal(t.events[0].version, installed(alias))
      const r = await request(port, { id: 'v' })
      assert.deepEqual(JSON.parse(r.body), { v: 1 })
      await settle(t, 'v')
      assert.deepEqual(t.trace('v'), ['handler'])
      await t.stop()
    })
  }

  // Observed: before the hook runner caught write-time errors of async onSend hooks, re-sending a
  // consumed Response was an unhandled rejection (issue #5919's family); 5.12.8 answers 500.
  const resendApp = {
    hooks: { onSend: [{}] },
    routes: [{ method: 'GET', url: '/', handler: { do: 'send', payload: { kind: 'response', body: { kind: 'string', value: 'hi' }, shared: 'r' } } }]
  }

  for (const arg of ['5.2.0', '5.2.1']) {
    test(`--fastify ${arg}: async onSend + resent Response kills the process`, async () => {
      const { t, port } = await started(resendApp, ['--fastify', arg])
      assert.equal((await request(port, { id: 'first' })).body, 'hi')
      request(port, { id: 'second' })
      const exit = await Promise.race([t.exited, sleep(3000).then(() => 'still running')])
      assert.notEqual(exit, 'still running')
      assert.notEqual(exit.code, 0)
      assert.match(t.stderr, /FST_ERR_REP_RESPONSE_BODY_CONSUMED/)
      assert.deepEqual(t.trace('second'), ['handler', 'onSend@root'])
    })
  }

  test('--fastify 5.12.8: the same app answers the resend with a 500', async () => {
    const { t, port } = await started(resendApp, ['--fastify', '5.12.8'])
    assert.equal((await request(port, { id: 'first' })).body, 'hi')
    const r = await request(port, { id: 'second' })
    assert.equal(r.status, 500)
    assert.equal(JSON.parse(r.body).code, 'FST_ERR_REP_RESPONSE_BODY_CONSUMED')
    await settle(t, 'second')
    assert.deepEqual(t.trace('second'), ['handler', 'onSend@root', 'onSend@root'])
    await t.stop()
  })

  // --fastify-from: a package folder (lifecheck's release cache, or a checkout: docs/releases.md);
  // the installed 4.x alias folder stands in for one, so no network is needed.
  test('--fastify-from DIR runs the Fastify in DIR, with the fastify-plugin of its major', async () => {
    const dir = fileURLToPath(new URL('../node_modules/fastify-4', import.meta.url))
    const { t, port } = await started(simple, ['--fastify-from', dir])
    assert.equal(t.events[0].version, installed('fastify-4'))
    assert.equal(t.events[0].fastifyPlugin, installed('fastify-plugin-4'))
    assert.deepEqual(JSON.parse((await request(port, { id: 'v' })).body), { v: 1 })
    await settle(t, 'v')
    await t.stop()
  })

  for (const [dir, why] of [['/nonexistent', /no readable package.json/], [fileURLToPath(new URL('../node_modules/fastify-plugin', import.meta.url)), /is 'fastify-plugin', not fastify/]]) {
    test(`--fastify-from ${dir.split('/').pop()}: a usage error (exit 2)`, async () => {
      const t = new Target(['--fastify-from', dir])
      assert.equal((await t.exited).code, 2)
      assert.match(t.stderr, why)
    })
  }

  // Fastify 4.0.0 (from lifecheck's release cache: `lifecheck releases install fastify@4.0.0`;
  // skipped where it is not cached, as in CI) has no lib/httpMethods.js and sends neither web
  // ReadableStreams nor Responses: the adapter starts, and such payloads are unsupported.
  const cache = process.env.LIFECHECK_RELEASE_CACHE ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lifecheck', 'releases')
  const v400 = join(cache, 'fastify@4.0.0', 'node_modules', 'fastify')
  test('--fastify-from 4.0.0: web stream and Response payloads are unsupported', { skip: !existsSync(v400) && `${v400} not cached` }, async () => {
    const { t, port } = await started(simple, ['--fastify-from', v400])
    assert.equal(t.events[0].version, '4.0.0')
    assert.deepEqual(t.events[0].features.filter(f => f === 'webStreams' || f === 'responses'), [])
    assert.deepEqual(JSON.parse((await request(port, { id: 'v' })).body), { v: 1 })
    await settle(t, 'v')
    await t.close()
    for (const payload of [{ kind: 'webStream', chunks: ['a'] }, { kind: 'response', body: { kind: 'string', value: 'x' } }]) {
      const answer = await t.load({ routes: [{ method: 'GET', url: '/', handler: { payload } }] })
      assert.equal(answer.t, 'unsupported', JSON.stringify(answer))
      assert.match(answer.what, /fastify 4\.0\.0 does not send a/)
    }
    await t.stop()
  })

  // A hook phase the release does not know (lib/hooks.js supportedHooks: onRequestAbort from
  // 4.14.0) is unsupported, not an app Fastify refuses at start (skipped where 4.13.0 is not cached).
  const v413 = join(cache, 'fastify@4.13.0', 'node_modules', 'fastify')
  test('--fastify-from 4.13.0: an onRequestAbort hook is unsupported; 4.29.1 runs it', { skip: !existsSync(v413) && `${v413} not cached` }, async () => {
    const app = { hooks: { onRequestAbort: [{}] }, routes: [{ method: 'GET', url: '/', handler: {} }] }
    const old = new Target(['--fastify-from', v413])
    await old.hello()
    const answer = await old.load(app)
    assert.equal(answer.t, 'unsupported', JSON.stringify(answer))
    assert.match(answer.what, /fastify 4\.13\.0 has no 'onRequestAbort' hook/)
    await old.stop()
    const { t } = await started(app, ['--fastify-from', fileURLToPath(new URL('../node_modules/fastify-4', import.meta.url))])
    await t.stop()
  })

  test('an unknown version is a usage error (exit 2)', async () => {
    const t = new Target(['--fastify', '3'])
    const info = await t.exited
    assert.equal(info.code, 2)
    assert.match(t.stderr, /no installed Fastify matches '3'/)
    assert.equal(t.events.length, 0)
  })

  test('--help prints usage and exits 0', async () => {
    const t = new Target(['--help'])
    const chunks = []
    t.proc.stdout.removeAllListeners('data')
    t.proc.stdout.on('data', d => chunks.push(d))
    const info = await t.exited
    assert.equal(info.code, 0)
    assert.match(chunks.join(''), /usage: node adapter\.mjs/)
  })
})
