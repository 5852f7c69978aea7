// Tests of adapter.mjs: spawns it, loads koa apps over the target protocol and sends real HTTP over loopback.
//
// Expected behaviour is real Koa's (observed when scenarios/koa/ were recorded); the version is
// read from the installed package.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { after, describe, test } from 'node:test'

const ADAPTER = new URL('../adapter.mjs', import.meta.url).pathname
const KOA_VERSION = JSON.parse(readFileSync(new URL('../node_modules/koa/package.json', import.meta.url), 'utf8')).version
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// The adapter process: events in arrival order, waiting by predicate

const spawned = new Set()

function startAdapter (args = []) {
  const proc = spawn(process.execPath, [ADAPTER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const t = { proc, events: [], stderr: '', exit: null, wakers: new Set() }
  spawned.add(t)
  const wake = () => { for (const w of t.wakers) w() }
  createInterface({ input: proc.stdout }).on('line', (line) => { t.events.push(JSON.parse(line)); wake() })
  proc.stderr.on('data', (d) => { t.stderr += d })
  t.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    t.exit = { code, signal }
    spawned.delete(t)
    wake()
    resolve(t.exit)
  }))
  return t
}

/** The first event at index >= from that matches; rejects on exit or after `ms`. */
function nextEvent (t, pred, from = 0, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no matching event; got:\n${t.events.map(e => JSON.stringify(e)).join('\n')}\n${t.stderr}`)), ms)
    const look = () => {
      const hit = t.events.find((e, i) => i >= from && pred(e))
      if (hit) finish(null, hit)
      else if (t.exit) finish(new Error(`adapter exited ${JSON.stringify(t.exit)}: ${t.stderr}`))
    }
    function finish (err, value) {
      clearTimeout(timer)
      t.wakers.delete(look)
      if (err) reject(err)
      else resolve(value)
    }
    t.wakers.add(look)
    look()
  })
}

function command (t, cmd) { t.proc.stdin.write(JSON.stringify(cmd) + '\n') }

async function load (t, app, dialect = 'koa') {
  const from = t.events.length
  command(t, { cmd: 'load', scenario: 'test', app, dialect })
  return nextEvent(t, e => e.t === 'ready' || e.t === 'unsupported', from)
}

async function stop (t) {
  if (t.exit) return
  command(t, { cmd: 'exit' })
  await Promise.race([t.exited, sleep(4000)])
  if (!t.exit) t.proc.kill('SIGKILL')
}

after(async () => { for (const t of [...spawned]) await stop(t) })

const labels = (t, req) => t.events.filter(e => e.t === 'cb' && e.req === req).map(e => e.label)
const endsOf = (t, req) => t.events.filter(e => e.t === 'end' && e.req === req)

/** Waits for the request's `end`, then until the adapter is quiet (late callbacks count too). */
async function settled (t, req) {
  await nextEvent(t, e => e.t === 'end' && e.req === req)
  for (let n = -1; n !== t.events.length;) {
    n = t.events.length
    await sleep(150)
  }
}

async function koaApp (app) {
  const t = startAdapter()
  const ready = await load(t, app)
  assert.equal(ready.t, 'ready', JSON.stringify(ready))
  return { t, port: ready.port }
}

// ---------------------------------------------------------------------------------------------
// One request over a fresh connection (`connection: close`), read until the socket closes.

function fetchRaw (port, { id, method = 'GET', closeAfterMs } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    const parts = []
    let done = false
    const finish = () => {
      if (done) return
      done = true
      const raw = Buffer.concat(parts).toString('latin1')
      const [head = '', body = ''] = raw.split(/\r\n\r\n(.*)/s)
      const [statusLine, ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.filter(Boolean).map(l => {
        const i = l.indexOf(':')
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]
      }))
      resolve({ status: Number(statusLine.split(' ')[1]) || undefined, headers, body, raw })
    }
    sock.on('connect', () => {
      const idLine = id === undefined ? '' : `x-lifecheck-req: ${id}\r\n`
      sock.write(`${method} / HTTP/1.1\r\nhost: 127.0.0.1\r\n${idLine}connection: close\r\n\r\n`)
      if (closeAfterMs !== undefined) setTimeout(() => { sock.destroy(); finish() }, closeAfterMs)
    })
    sock.on('data', d => parts.push(d))
    sock.on('error', finish)
    sock.on('close', finish)
  })
}

const send = (status, payload, headers) => ({ do: 'send', status, headers, payload })

// ---------------------------------------------------------------------------------------------

describe('protocol', () => {
  test('hello names the installed Koa and the koa dialect only', async () => {
    const t = startAdapter()
    const hello = await nextEvent(t, e => e.t === 'hello')
    assert.equal(t.events[0], hello)
    assert.equal(hello.target, 'koa')
    assert.equal(hello.version, KOA_VERSION)
    assert.deepEqual(hello.dialects, ['koa'])
    await stop(t)
    assert.equal(t.exit.code, 0)
  })

  test('fastify apps and payloads Koa 2 cannot send are unsupported; the adapter keeps serving', async () => {
    const t = startAdapter()
    const fastify = await load(t, { routes: [] }, 'fastify')
    assert.equal(fastify.t, 'unsupported')
    assert.match(fastify.what, /dialect fastify/)
    const web = await load(t, { middleware: [{ label: 'w', before: send(200, { kind: 'webStream', chunks: ['x'] }) }] })
    assert.equal(web.t, 'unsupported')
    assert.match(web.what, /webStream/)
    const rethrow = await load(t, { middleware: [{ label: 'r', before: { do: 'rethrow' } }] })
    assert.equal(rethrow.t, 'unsupported')
    const listenerSends = await load(t, { middleware: [], onError: { do: 'send' } })
    assert.equal(listenerSends.t, 'unsupported')
    const ok = await load(t, { middleware: [{ label: 'm', before: send(200, { kind: 'string', value: 'hi' }) }] })
    assert.equal(ok.t, 'ready')
    assert.equal((await fetchRaw(ok.port, { id: 'r1' })).body, 'hi')
    await stop(t)
  })

  test('ids come from x-lifecheck-req or are auto-N; every request gets one end on res close', async () => {
    const { t, port } = await koaApp({ middleware: [{ label: 'a' }] })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 404)
    await settled(t, 'r1')
    assert.deepEqual(t.events.filter(e => e.req === 'r1'), [
      { t: 'cb', req: 'r1', label: 'a:down', phase: 'middleware', scope: 'root' },
      { t: 'cb', req: 'r1', label: 'a:up', phase: 'middleware', scope: 'root' },
      { t: 'end', req: 'r1', status: 404, aborted: false }
    ])
    await fetchRaw(port, {})
    await settled(t, 'auto-1')
    assert.deepEqual(labels(t, 'auto-1'), ['a:down', 'a:up'])
    await stop(t)
  })

  test('a load replaces the app and starts with every flag unset', async () => {
    const app = {
      middleware: [
        { label: 'gate', before: { when: { flag: 'seen', is: false }, set: { flag: 'seen', value: true }, do: 'throw', status: 503 } },
        { label: 'h', before: send(200, { kind: 'string', value: 'ok' }) }
      ]
    }
    const { t, port } = await koaApp(app)
    assert.equal((await fetchRaw(port, { id: 'a' })).status, 503)
    assert.equal((await fetchRaw(port, { id: 'b' })).status, 200)
    const again = await load(t, app)
    assert.equal((await fetchRaw(again.port, { id: 'c' })).status, 503)
    await stop(t)
  })
})

describe('idle (scenario-format §3.1, v2.6)', () => {
  test('idle waits for the timer of a middleware the client left behind, then answers with the id', async () => {
    const { t, port } = await koaApp({ middleware: [{ label: 'a', before: { delayMs: 150 } }, { label: 'b' }] })
    assert.ok(t.events[0].features.includes('idle'))
    await fetchRaw(port, { id: 'r1', closeAfterMs: 30 })
    await nextEvent(t, e => e.t === 'end' && e.req === 'r1')
    const asked = Date.now()
    const from = t.events.length
    command(t, { cmd: 'idle', id: 3 })
    const idle = await nextEvent(t, e => e.t === 'idle', from)
    assert.equal(idle.id, 3)
    // a's delay ends after the abort's `end`; b:down comes after it, before `idle`
    const down = t.events.findIndex(e => e.req === 'r1' && e.label === 'b:down')
    assert.ok(down >= 0 && down < t.events.indexOf(idle), JSON.stringify(t.events))
    assert.ok(Date.now() - asked >= 50)
  })
})

describe('the onion', () => {
  test('down in order, up in reverse; the innermost JSON body is sent with Koa headers', async () => {
    const { t, port } = await koaApp({
      middleware: [{ label: 'a' }, { label: 'b' }, { label: 'c', before: send(undefined, { kind: 'json', value: { ok: true } }) }]
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(r.headers['content-length'], '11')
    assert.equal(r.body, '{"ok":true}')
    await settled(t, 'r1')
    assert.deepEqual(labels(t, 'r1'), ['a:down', 'b:down', 'c:down', 'c:up', 'b:up', 'a:up'])
  })

  test('next: never short-circuits; its upper half is still traced', async () => {
    const { t, port } = await koaApp({
      middleware: [
        { label: 'auth', next: 'never', before: send(401) },
        { label: 'handler', before: send(200, { kind: 'string', value: 'secret' }) }
      ]
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 401)
    assert.equal(r.body, 'Unauthorized')
    await settled(t, 'r1')
    assert.deepEqual(labels(t, 'r1'), ['auth:down', 'auth:up'])
  })

  test('next() twice: koa-compose rejects the second call, Koa answers 500 and emits error', async () => {
    const { t, port } = await koaApp({
      middleware: [{ label: 'outer' }, { label: 'twice', next: 'twice' }, { label: 'inner', before: send(201, { kind: 'json', value: [1] }) }],
      onError: { label: 'listener' }
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 500)
    assert.equal(r.body, 'Internal Server Error')
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8')
    await settled(t, 'r1')
    assert.deepEqual(labels(t, 'r1'), ['outer:down', 'twice:down', 'inner:down', 'inner:up', 'listener'])
    assert.equal(t.events.find(e => e.label === 'listener').phase, 'onError')
  })

  test('a throw after next() drops the headers the downstream set; the status text is the body', async () => {
    const { t, port } = await koaApp({
      middleware: [
        { label: 'a', after: { do: 'throw', error: { message: 'hidden', statusCode: 418 } } },
        { label: 'c', before: send(200, { kind: 'json', value: { ok: true } }, { 'x-c': 'set' }) }
      ],
      onError: {}
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 418)
    assert.equal(r.body, "I'm a teapot")
    assert.equal(r.headers['x-c'], undefined)
    await settled(t, 'r1')
    assert.deepEqual(labels(t, 'r1'), ['a:down', 'c:down', 'c:up', 'a:up', 'onError'])
  })
})

describe('v2.3 ops and error-handling middleware', () => {
  test('a catch answers from err: status, message, the listener from ctx.app.emit, then LABEL:up', async () => {
    const { t, port } = await koaApp({
      middleware: [
        { label: 'errors', catch: { ops: [{ 'ctx.status': 'err' }, { 'ctx.body': 'err.message' }, { 'ctx.app.emit': true }] } },
        { label: 'db', before: { ops: [{ throw: { kind: 'error', message: 'db down', statusCode: 503 } }] } }
      ],
      onError: { label: 'listener' }
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 503)
    assert.equal(r.body, 'db down')
    await settled(t, 'r1')
    assert.deepEqual(labels(t, 'r1'), ['errors:down', 'db:down', 'errors:catch', 'listener', 'errors:up'])
  })

  test('ctx.throw exposes a 4xx message and sets err.headers; a 5xx shows the status text', async () => {
    const { port } = await koaApp({
      middleware: [{ label: 'a', before: { ops: [{ 'ctx.throw': { status: 409, message: 'taken', props: { headers: { 'x-why': 'dup' } } } }] } }]
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 409)
    assert.equal(r.body, 'taken')
    assert.equal(r.headers['x-why'], 'dup')
    const { port: p2 } = await koaApp({ middleware: [{ label: 'a', before: { ops: [{ 'ctx.throw': { status: 502, message: 'secret' } }] } }] })
    assert.equal((await fetchRaw(p2, { id: 'r1' })).body, 'Bad Gateway')
  })

  test('ops that read err outside a catch, and a catch with next never, are unsupported', async () => {
    const t = startAdapter()
    const outside = await load(t, { middleware: [{ label: 'a', before: { ops: [{ rethrow: true }] } }] })
    assert.equal(outside.t, 'unsupported')
    assert.match(outside.what, /only in a catch block/)
    const never = await load(t, { middleware: [{ label: 'a', next: 'never', catch: {} }] })
    assert.equal(never.t, 'unsupported')
    await stop(t)
  })
})

describe('v2.4 response ops', () => {
  test('ctx.set with an array, ctx.append, ctx.remove, ctx.type and ctx.attachment reach the client', async () => {
    const { port } = await koaApp({
      middleware: [{
        label: 'a',
        before: {
          ops: [{ 'ctx.set': ['x-a', ['one', 2]] }, { 'ctx.append': ['x-a', 'three'] }, { 'ctx.set': ['x-b', 5] },
            { 'ctx.remove': 'x-b' }, { 'ctx.attachment': 'd/f.json' }, { 'ctx.body': { kind: 'string', value: 'x' } }]
        }
      }]
    })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 200)
    assert.match(r.raw, /\r\nx-a: one\r\nx-a: 2\r\nx-a: three\r\n/) // a line per value
    assert.equal(r.headers['x-b'], undefined)
    assert.equal(r.headers['content-disposition'], 'attachment; filename="f.json"')
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  })

  test('ctx.redirect answers 302 and ctx.message becomes the body of a bodiless response', async () => {
    const { port } = await koaApp({ middleware: [{ label: 'a', before: { ops: [{ 'ctx.redirect': '/login' }] } }] })
    const r = await fetchRaw(port, { id: 'r1' })
    assert.equal(r.status, 302)
    assert.equal(r.headers.location, '/login')
    assert.equal(r.body, 'Redirecting to /login.')
    const { port: p2 } = await koaApp({ middleware: [{ label: 'a', before: { ops: [{ 'ctx.status': 200 }, { 'ctx.message': 'fine' }] } }] })
    assert.equal((await fetchRaw(p2, { id: 'r1' })).body, 'fine')
  })
})

describe('aborts and streams', () => {
  test('the client closing while a middleware hangs: end aborted, status 404, nothing after', async () => {
    const { t, port } = await koaApp({ middleware: [{ label: 'a' }, { label: 'h', before: { do: 'hang' } }], onError: {} })
    await fetchRaw(port, { id: 'r1', closeAfterMs: 50 })
    await settled(t, 'r1')
    assert.deepEqual(endsOf(t, 'r1'), [{ t: 'end', req: 'r1', status: 404, aborted: true }])
    assert.deepEqual(labels(t, 'r1'), ['a:down', 'h:down'])
  })

  test('a failing body stream: the listener observes, the response stays open until the client leaves', async () => {
    const { t, port } = await koaApp({
      middleware: [{ label: 's', before: send(200, { kind: 'stream', chunks: ['one;', 'two;', 'three;'], chunkDelayMs: 20, failAfterChunks: 2 }) }],
      onError: {}
    })
    const r = await fetchRaw(port, { id: 'r1', closeAfterMs: 300 })
    assert.equal(r.status, 200)
    assert.match(r.raw, /4\r\none;\r\n4\r\ntwo;\r\n$/) // no last chunk: never ended
    await settled(t, 'r1')
    assert.deepEqual(labels(t, 'r1'), ['s:down', 's:up', 'onError'])
    const cbBeforeEnd = t.events.filter(e => e.req === 'r1').findIndex(e => e.t === 'end')
    assert.equal(cbBeforeEnd, 3) // the listener ran before the client gave up
    assert.deepEqual(endsOf(t, 'r1').map(e => e.aborted), [true])
  })
})

describe('--koa version selection', () => {
  test('an exact version and a prefix select the installed Koa', async () => {
    for (const arg of [KOA_VERSION, KOA_VERSION.split('.')[0]]) {
      const t = startAdapter(['--koa', arg])
      assert.equal((await nextEvent(t, e => e.t === 'hello')).version, KOA_VERSION)
      await stop(t)
    }
  })

  // --koa-from: a package folder (lifecheck's release cache or a checkout: docs/releases.md).
  test('--koa-from DIR runs the Koa in DIR; a folder without Koa is a usage error', async () => {
    const t = startAdapter(['--koa-from', new URL('../node_modules/koa', import.meta.url).pathname])
    assert.equal((await nextEvent(t, e => e.t === 'hello')).version, KOA_VERSION)
    await stop(t)
    const bad = startAdapter(['--koa-from', new URL('../node_modules/koa-compose', import.meta.url).pathname])
    assert.equal((await bad.exited).code, 2)
    assert.match(bad.stderr, /is 'koa-compose', not koa/)
  })

  test('an unknown version is a usage error (exit 2)', async () => {
    const t = startAdapter(['--koa', '1'])
    assert.equal((await t.exited).code, 2)
    assert.match(t.stderr, /no installed Koa matches '1'/)
    assert.equal(t.events.length, 0)
  })

  test('--help prints usage and exits 0', async () => {
    const proc = spawn(process.execPath, [ADAPTER, '--help'])
    let out = ''
    proc.stdout.on('data', d => { out += d })
    const code = await new Promise(resolve => proc.on('exit', resolve))
    assert.equal(code, 0)
    assert.match(out, /usage: node adapter\.mjs/)
  })
})
