#!/usr/bin/env node
// lifecheck target adapter: builds scenario apps (dialect koa) on real Koa 2 and speaks the JSON-lines target protocol (scenario-format.md §3).
//
// Every middleware of a scenario becomes an ordinary `async (ctx, next) => {...}` written the way a
// user would write it (scenario-format §1.5); the adapter adds no middleware of its own. Request ids, `end`
// events and abort detection come from the raw Node server ('request' event, res 'close').
// Real Koa crashes are NOT caught: an uncaught exception kills this process, as in production.

import { readFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { idleSignal } from '../fastify/idle.mjs'

const ADAPTER_VERSION = '0.1.0'
const require = createRequire(import.meta.url)

// ---------------------------------------------------------------------------------------------
// Installed Koa releases (npm aliases in package.json) and version selection

const KOA_ALIASES = ['koa']

function installedVersion (alias) {
  try {
    const url = new URL(`./node_modules/${alias}/package.json`, import.meta.url)
    return JSON.parse(readFileSync(url, 'utf8')).version
  } catch {
    return undefined
  }
}

function compareVersions (a, b) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  }
  return 0
}

/** Every installed alias with its real version, newest first. */
function installedKoas () {
  const out = []
  for (const alias of KOA_ALIASES) {
    const version = installedVersion(alias)
    if (version !== undefined) out.push({ alias, version })
  }
  return out.sort((x, y) => compareVersions(y.version, x.version))
}

/** An exact installed version, or a prefix of whole components ("2", "2.16") → newest match. */
function selectKoa (wanted) {
  const all = installedKoas()
  if (wanted === undefined) return all[0]
  const exact = all.find(k => k.version === wanted)
  if (exact) return exact
  return all.find(k => k.version.startsWith(wanted + '.'))
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `usage: node adapter.mjs [--koa VERSION | --koa-from DIR] [--help]

lifecheck target for real Koa. Speaks the JSON-lines target protocol of
scenario-format.md §3: commands on stdin, events on stdout, logs on stderr.

  --koa VERSION   which installed Koa to run (default: the newest installed).
                  An exact version, or a prefix of whole components ("2", "2.16").
  --koa-from DIR  run the Koa package in folder DIR instead: a release lifecheck
                  installed into its release cache, or a local checkout
                  (lifecheck --target koa@file:DIR; docs/releases.md).
  --help          print this and exit.

installed: ${installedKoas().map(k => `${k.version} (${k.alias})`).join(', ')}

exit codes: 0 after {"cmd":"exit"} or end of stdin; 1 when Koa (or a callback
run by it) throws an uncaught exception; 2 usage error.`

function parseArgs (argv) {
  const opts = { koa: undefined, koaFrom: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n')
      process.exit(0)
    } else if (a === '--koa') {
      if (i + 1 >= argv.length) usageError('--koa needs a value')
      opts.koa = argv[++i]
    } else if (a.startsWith('--koa=')) opts.koa = a.slice('--koa='.length)
    else if (a === '--koa-from') {
      if (i + 1 >= argv.length) usageError('--koa-from needs a value')
      opts.koaFrom = argv[++i]
    } else if (a.startsWith('--koa-from=')) opts.koaFrom = a.slice('--koa-from='.length)
    else usageError(`unknown argument '${a}'`)
  }
  return opts
}

function usageError (msg) {
  process.stderr.write(`lifecheck-koa: ${msg}\n\n${USAGE}\n`)
  process.exit(2)
}

const args = parseArgs(process.argv.slice(2))
/** A Koa package folder named by --koa-from: { alias (its absolute path), version }. */
function koaFrom (dir) {
  let pkg
  try { pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) } catch (err) {
    usageError(`--koa-from ${dir}: no readable package.json (${err.code ?? err.message})`)
  }
  if (pkg.name !== 'koa') usageError(`--koa-from ${dir}: the package there is '${pkg.name}', not koa`)
  return { alias: resolve(dir), version: pkg.version }
}

const selected = args.koaFrom !== undefined ? koaFrom(args.koaFrom) : selectKoa(args.koa)
if (!selected) usageError(`no installed Koa matches '${args.koa}'`)
const Koa = require(selected.alias)

// ---------------------------------------------------------------------------------------------
// Output

function print (obj) {
  // stdout is a pipe: synchronous on Linux, so lines written before a crash are not lost.
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function log (msg) {
  process.stderr.write(`lifecheck-koa: ${msg}\n`)
}

// No 'uncaughtException' handler on purpose (scenario-format §4 I7); this only says why on stderr first.
process.on('uncaughtExceptionMonitor', (err, origin) => {
  log(`process dies (${origin}): ${err?.code ? err.code + ': ' : ''}${err?.stack ?? err}`)
})

// ---------------------------------------------------------------------------------------------
// The app description (scenario-format §1.5): what this adapter can build

const VERBS = ['continue', 'throw', 'send', 'hang']
const ACTION_KEYS = ['style', 'delayMs', 'when', 'set', 'do', 'status', 'headers', 'payload', 'error', 'ops']
const MIDDLEWARE_KEYS = ['label', 'before', 'next', 'catch', 'after']
// v2.3 and v2.4 ops of koa middleware (scenario-format §1.7), each named after the Koa call it stands for;
// the ops only a `catch` block may use (they read the caught `err`) are marked.
const KOA_OPS = {
  'ctx.status': false,
  'ctx.body': false,
  'ctx.throw': false,
  'ctx.assert': false,
  throw: false,
  rethrow: true,
  'ctx.app.emit': true,
  set: false,
  await: false,
  hang: false,
  // v2.4: the response API
  'ctx.set': false,
  'ctx.append': false,
  'ctx.remove': false,
  'ctx.type': false,
  'ctx.length': false,
  'ctx.message': false,
  'ctx.redirect': false,
  'ctx.attachment': false,
  'ctx.flushHeaders': false,
  // v2.6: raw control
  'ctx.respond': false,
  'ctx.res.statusCode': false,
  'ctx.res.setHeader': false,
  'ctx.res.write': false,
  'ctx.res.end': false
}
const THROW_KINDS = ['error', 'json', 'string', 'undefined']
const NEXT_MODES = ['once', 'never', 'twice']
// Koa 2 has no WHATWG stream or Response body: it would JSON-serialize them as "{}".
const PAYLOAD_KEYS = {
  json: ['value'],
  string: ['value'],
  buffer: ['base64'],
  empty: [],
  stream: ['chunks', 'chunkDelayMs', 'failAfterChunks']
}

class Unsupported extends Error {}

function unsupported (what) { throw new Unsupported(what) }

const isObject = v => v !== null && typeof v === 'object' && !Array.isArray(v)

function checkKeys (obj, allowed, path) {
  if (!isObject(obj)) unsupported(`${path}: expected an object`)
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) unsupported(`${path}: unknown key '${k}'`)
  }
}

/** site = 'middleware' (before/after) | 'onError' (the app's error listener: observes only). */
function checkAction (a, site, path) {
  checkKeys(a, site === 'onError' ? ['label', ...ACTION_KEYS] : ACTION_KEYS, path)
  if (a.style !== undefined && a.style !== 'async') unsupported(`${path}.style: '${a.style}' (koa middleware are async)`)
  const verb = a.do ?? 'continue'
  if (!VERBS.includes(verb)) unsupported(`${path}.do: '${verb}' (koa: continue, throw, send, hang)`)
  if (site === 'onError' && verb !== 'continue') unsupported(`${path}.do: '${verb}' in onError (it only observes)`)
  if (a.when !== undefined) checkKeys(a.when, ['flag', 'is'], `${path}.when`)
  if (a.set !== undefined) checkKeys(a.set, ['flag', 'value'], `${path}.set`)
  if (a.error !== undefined) checkKeys(a.error, ['message', 'statusCode', 'code'], `${path}.error`)
  if (a.headers !== undefined && !isObject(a.headers)) unsupported(`${path}.headers: expected an object`)
  if (a.delayMs !== undefined && !(typeof a.delayMs === 'number' && a.delayMs >= 0)) {
    unsupported(`${path}.delayMs: expected a number >= 0`)
  }
  if (a.payload !== undefined) checkPayload(a.payload, `${path}.payload`)
  if (a.ops !== undefined) {
    if (site === 'onError') unsupported(`${path}.ops: the onError listener only observes`)
    if (!Array.isArray(a.ops)) unsupported(`${path}.ops: expected an array`)
    a.ops.forEach((op, i) => checkOp(op, site, `${path}.ops[${i}]`))
  }
}

function checkPayload (p, path) {
  if (!isObject(p)) unsupported(`${path}: expected an object`)
  const fields = PAYLOAD_KEYS[p.kind]
  if (!fields) unsupported(`${path}.kind: '${p.kind}' (koa: json, string, buffer, empty, stream)`)
  checkKeys(p, ['kind', ...fields], path)
  if (p.chunks !== undefined && !(Array.isArray(p.chunks) && p.chunks.every(c => typeof c === 'string'))) {
    unsupported(`${path}.chunks: expected an array of strings`)
  }
}

/** One op (scenario-format §1.7): its key is known here and allowed where it sits. */
function checkOp (op, site, path) {
  if (!isObject(op) || Object.keys(op).length !== 1) unsupported(`${path}: expected an object with one key`)
  const [k, v] = Object.entries(op)[0]
  if (!(k in KOA_OPS)) unsupported(`${path}: op '${k}' (koa: ${Object.keys(KOA_OPS).join(', ')})`)
  const inCatch = site === 'catch'
  if (KOA_OPS[k] && !inCatch) unsupported(`${path}: '${k}' only in a catch block`)
  if ((v === 'err' || v === 'err.message') && !inCatch) unsupported(`${path}: '${v}' only in a catch block`)
  if (k === 'ctx.body' && v !== 'err.message') checkPayload(v, `${path}.ctx.body`)
  if (k === 'throw' && !(isObject(v) && THROW_KINDS.includes(v.kind))) {
    unsupported(`${path}.throw: a PAYLOAD of kind ${THROW_KINDS.join(', ')}`)
  }
}

function checkApp (app) {
  checkKeys(app, ['middleware', 'onError'], '$.app')
  const labels = new Set()
  const list = app.middleware ?? []
  if (!Array.isArray(list)) unsupported('$.app.middleware: expected an array')
  list.forEach((m, i) => {
    const path = `$.app.middleware[${i}]`
    checkKeys(m, MIDDLEWARE_KEYS, path)
    if (typeof m.label !== 'string' || m.label === '') unsupported(`${path}.label: a middleware needs a label`)
    if (labels.has(m.label)) unsupported(`${path}.label: '${m.label}' used twice`)
    labels.add(m.label)
    if (m.next !== undefined && !NEXT_MODES.includes(m.next)) unsupported(`${path}.next: '${m.next}'`)
    if (m.before !== undefined) checkAction(m.before, 'middleware', `${path}.before`)
    if (m.catch !== undefined) {
      if (m.next === 'never') unsupported(`${path}.catch: a catch block needs next once or twice`)
      checkAction(m.catch, 'catch', `${path}.catch`)
    }
    if (m.after !== undefined) checkAction(m.after, 'middleware', `${path}.after`)
  })
  if (app.onError !== undefined) checkAction(app.onError, 'onError', '$.app.onError')
}

// ---------------------------------------------------------------------------------------------
// One loaded app: flags, request records, event output

const kLive = Symbol('lifecheck.liveRequests') // socket → records of requests in flight on it
const kPeerClosed = Symbol('lifecheck.peerClosed') // socket: the client sent FIN or reset
const PEER_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

class AppContext {
  constructor () {
    this.flags = new Map() // scenario-format §1.2 `set`/`when`; reset per load
    this.requests = new WeakMap() // raw IncomingMessage → { id, serverCut }
    this.autoId = 0
    this.muted = false // set when a `load` replaces this app: its late events are not reported
    this.live = new Set() // records of requests whose `end` is not out yet
    this.onDrain = []
  }

  /** Resolves once every request seen so far has had its `end`, or after `ms`. */
  drained (ms) {
    if (this.live.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.onDrain.push(() => { clearTimeout(timer); resolve() })
    })
  }

  emit (obj) {
    idle.output()
    if (!this.muted) print(obj)
  }

  cb (req, label, phase) {
    this.emit({ t: 'cb', req, label, phase, scope: 'root' })
  }

  whenHolds (a) {
    if (a.when === undefined) return true
    return (this.flags.get(a.when.flag) ?? false) === (a.when.is ?? false)
  }

  applySet (a) {
    if (a.set !== undefined) this.flags.set(a.set.flag, a.set.value ?? false)
  }

  idOf (raw) {
    return this.requests.get(raw)?.id ?? '?'
  }

  newId (raw) {
    const h = raw.headers['x-lifecheck-req']
    return typeof h === 'string' && h !== '' ? h : `auto-${++this.autoId}`
  }

  /**
   * Watches every request Node hands to the server, before Koa sees it, and reports `end` when
   * `res` closes (scenario-format §3; never from a middleware).
   */
  track (server) {
    server.prependListener('request', (req, res) => {
      const rec = { id: this.newId(req), serverCut: false }
      this.requests.set(req, rec)
      const sock = req.socket
      this.watchSocket(sock)
      sock[kLive].add(rec)
      this.live.add(rec)
      res.once('close', () => {
        sock[kLive].delete(rec)
        this.live.delete(rec)
        // scenario-format §3: aborted only when the client closed or reset its side before the response
        // finished; the server destroying the socket (a stream failing, a forced close) is not.
        const aborted = !res.writableFinished && !rec.serverCut && sock[kPeerClosed] === true
        this.emit({ t: 'end', req: rec.id, status: res.statusCode, aborted })
        if (this.live.size === 0) for (const f of this.onDrain.splice(0)) f()
      })
    })
    server.prependListener('clientError', (err, sock) => {
      if (sock?.[kLive] && !sock[kPeerClosed] && !PEER_ERRORS.has(err?.code)) this.cutAll(sock)
    })
  }

  watchSocket (sock) {
    if (sock[kLive]) return
    sock[kLive] = new Set()
    // prepend: runs before Node's own 'end' handling, which may report a parse error first.
    sock.prependListener('end', () => { sock[kPeerClosed] = true })
    sock.on('error', (err) => { if (PEER_ERRORS.has(err?.code)) sock[kPeerClosed] = true })
    sock.on('timeout', () => this.cutAll(sock))
  }

  cutAll (sock) {
    for (const rec of sock[kLive]) rec.serverCut = true
  }
}

// ---------------------------------------------------------------------------------------------
// PAYLOAD (scenario-format §1.3) as the value assigned to ctx.body

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// v2.6 (scenario-format §3.1, decisions.md D57): the idle signal (../fastify/idle.mjs); app timers
// count.
const idle = idleSignal({ print, busy: () => (current?.ctx.live.size ?? 0) > 0 })
const { appTimeout, appSleep } = idle

/** A Node Readable: first chunk at the first read, then `chunkDelayMs` before every later event. */
function nodeStream (p) {
  const chunks = p.chunks ?? []
  const fails = p.failAfterChunks !== undefined
  const total = fails ? Math.min(p.failAfterChunks, chunks.length) : chunks.length
  const delay = p.chunkDelayMs ?? 0
  let k = 0
  let started = false
  const stream = new Readable({
    read () {
      if (started) return
      started = true
      const step = () => {
        if (stream.destroyed) return // Koa destroys the body stream when the response closes
        if (k < total) {
          stream.push(Buffer.from(chunks[k++]))
          appTimeout(step, delay)
        } else if (fails) {
          // Koa only reports it (ctx.onerror after the head went out): the socket stays open.
          stream.destroy(new Error('stream failed'))
        } else {
          stream.push(null)
        }
      }
      step()
    }
  })
  return stream
}

/**
 * The value a PAYLOAD stands for in `ctx.body = value`: json → the value itself (objects cloned;
 * a string stays a string, null stays null), string → string, buffer → Buffer, empty → null,
 * stream → a Node Readable.
 */
function materialize (p) {
  switch (p.kind) {
    case 'json': {
      const v = 'value' in p ? p.value : null
      return v !== null && typeof v === 'object' ? structuredClone(v) : v
    }
    case 'string': return p.value ?? ''
    case 'buffer': return Buffer.from(p.base64 ?? '', 'base64')
    case 'empty': return null
    case 'stream': return nodeStream(p)
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// ACTION → what the middleware does in its `before` or `after` half (scenario-format §1.2, §1.5)

/** new Error(message ?? "boom") with status = error.statusCode ?? status (Koa reads err.status), and code. */
function makeError (a) {
  const err = new Error(a.error?.message ?? 'boom')
  const status = a.error?.statusCode ?? a.status
  if (status !== undefined) err.status = status
  if (a.error?.code !== undefined) err.code = a.error.code
  return err
}

/**
 * Runs one ACTION inside a middleware: `when`, `delayMs`, `set`, then the verb.
 * send: `ctx.status = status ?? 200; ctx.set(headers); ctx.body = payload` (body untouched when
 * the ACTION has no payload, so Koa answers with the status text). throw: throws. hang: never
 * settles. continue: nothing.
 */
async function perform (app, a, ctx, caught) {
  if (a === undefined || !app.whenHolds(a)) return
  if (a.ops !== undefined) return runOps(app, a.ops, ctx, caught)
  if (a.delayMs !== undefined) await appSleep(a.delayMs)
  app.applySet(a)
  switch (a.do ?? 'continue') {
    case 'continue': return
    case 'throw': throw makeError(a)
    case 'send':
      ctx.status = a.status ?? 200
      if (a.headers !== undefined) ctx.set(a.headers)
      if (a.payload !== undefined) ctx.body = materialize(a.payload)
      return
    case 'hang': await new Promise(() => {})
  }
}

// ---------------------------------------------------------------------------------------------
// v2.3 ops (scenario-format §1.7): what a middleware body or its catch block does, in order

/**
 * The value of an Error or a thrown non-Error for `throw` (scenario-format §1.7): an error PAYLOAD
 * is new Error(message ?? "boom") with its own properties (props as given, e.g. expose).
 */
function thrownValue (p) {
  switch (p.kind) {
    case 'error': {
      const err = new Error(p.message ?? 'boom')
      if (p.statusCode !== undefined) err.statusCode = p.statusCode
      if (p.status !== undefined) err.status = p.status
      if (p.code !== undefined) err.code = p.code
      if (p.headers !== undefined) err.headers = { ...p.headers }
      if (p.props !== undefined) Object.assign(err, structuredClone(p.props))
      return err
    }
    case 'json': return 'value' in p ? structuredClone(p.value) : null
    case 'string': return p.value ?? ''
    default: return undefined
  }
}

/** ctx.throw(status, message?, props?) and ctx.assert(value, status, message?, props?) arguments. */
function httpErrorArgs (v) {
  const args = [v.status]
  if (v.message !== undefined) args.push(v.message)
  if (v.props !== undefined) args.push(structuredClone(v.props))
  return args
}

/**
 * v2.6 ctx.throw({args: [...]}): each argument as written — a status (number), a message (string),
 * {error: {message?, status?, statusCode?}} a new Error with those properties, {props: PROPS}.
 */
function throwArgs (args) {
  return args.map(a => {
    if (!isObject(a)) return a
    if ('props' in a) return structuredClone(a.props)
    const err = new Error(a.error.message ?? 'boom')
    if (a.error.status !== undefined) err.status = a.error.status
    if (a.error.statusCode !== undefined) err.statusCode = a.error.statusCode
    return err
  })
}

/** A ctx.set/ctx.append value as written; v2.6: {kind: 'undefined'} is undefined. */
function headerValue (v) {
  if (Array.isArray(v)) return v.map(headerValue)
  return isObject(v) && v.kind === 'undefined' ? undefined : v
}

/** v2.6 ctx.set(object): every value through headerValue, in the object's order. */
function headerValues (obj) {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, headerValue(v)]))
}

/** Runs ops in order as the body of an async function; `caught` is the catch block's `err`. */
async function runOps (app, ops, ctx, caught) {
  for (const op of ops) {
    const [k, v] = Object.entries(op)[0]
    switch (k) {
      case 'ctx.status':
        ctx.status = v === 'err' ? (caught.statusCode || caught.status || 500) : v
        break
      case 'ctx.body':
        ctx.body = v === 'err.message' ? caught.message : materialize(v)
        break
      case 'ctx.throw': ctx.throw(...(v.args ? throwArgs(v.args) : httpErrorArgs(v))); break
      case 'ctx.assert': ctx.assert(v.value, ...httpErrorArgs(v)); break
      case 'throw': throw thrownValue(v)
      case 'rethrow': throw caught
      case 'ctx.app.emit': ctx.app.emit('error', caught, ctx); break
      case 'set': app.applySet({ set: v }); break
      case 'await': await appSleep(v); break
      case 'hang': await new Promise(() => {})
      // v2.4: the response API
      case 'ctx.set': if (Array.isArray(v)) ctx.set(v[0], headerValue(v[1])); else ctx.set(headerValues(v)); break
      case 'ctx.append': ctx.append(v[0], headerValue(v[1])); break
      case 'ctx.remove': ctx.remove(v); break
      case 'ctx.type': ctx.type = v; break
      case 'ctx.length': ctx.length = v; break
      case 'ctx.message': ctx.message = v; break
      case 'ctx.redirect': if (isObject(v)) ctx.redirect('back', v.back); else ctx.redirect(v); break
      case 'ctx.attachment': if (v === null) ctx.attachment(); else ctx.attachment(v); break
      case 'ctx.flushHeaders': ctx.flushHeaders(); break
      // v2.6: raw control, Node's res underneath Koa
      case 'ctx.respond': ctx.respond = v; break
      case 'ctx.res.statusCode': ctx.res.statusCode = v; break
      case 'ctx.res.setHeader': ctx.res.setHeader(v[0], v[1]); break
      case 'ctx.res.write': ctx.res.write(v); break
      case 'ctx.res.end': if (v === null) ctx.res.end(); else ctx.res.end(v); break
    }
  }
}

/**
 * scenario-format §1.5: traced `LABEL:down` when the middleware starts and `LABEL:up` when the code after the
 * next() call(s) starts (for next: never, right after `before`); `after` runs in that upper half.
 */
function makeMiddleware (app, m) {
  const mode = m.next ?? 'once'
  const fn = async function (ctx, next) {
    const id = app.idOf(ctx.req)
    app.cb(id, `${m.label}:down`, 'middleware')
    await perform(app, m.before, ctx)
    if (m.catch !== undefined) {
      // v2.3: error-handling middleware, `try { await next() } catch (err) { ... }`
      try {
        await next()
        if (mode === 'twice') await next()
      } catch (err) {
        app.cb(id, `${m.label}:catch`, 'middleware')
        await perform(app, m.catch, ctx, err)
      }
    } else if (mode === 'once') await next()
    else if (mode === 'twice') {
      await next()
      await next() // koa-compose rejects: "next() called multiple times"
    }
    app.cb(id, `${m.label}:up`, 'middleware')
    await perform(app, m.after, ctx)
  }
  Object.defineProperty(fn, 'name', { value: m.label })
  return fn
}

/** app.on('error', ...): traced `onError` (or its label); observes, cannot change the reply. */
function makeErrorListener (app, a) {
  const label = a.label ?? 'onError'
  return function onError (err, ctx) {
    app.cb(ctx ? app.idOf(ctx.req) : 'app', label, 'onError')
    if (!app.whenHolds(a)) return
    if (a.delayMs !== undefined) appTimeout(() => app.applySet(a), a.delayMs)
    else app.applySet(a)
  }
}

function buildKoa (ctx, desc) {
  const koa = new Koa()
  for (const m of desc.middleware ?? []) koa.use(makeMiddleware(ctx, m))
  // Without a listener Koa keeps its own default (it logs non-exposed errors to stderr).
  if (desc.onError !== undefined) koa.on('error', makeErrorListener(ctx, desc.onError))
  return koa
}

// ---------------------------------------------------------------------------------------------
// load / close / exit

let current = null // { server, ctx, closing: Promise | null, closed: bool }

/** Starts server.close() once: stops listening, closes idle connections, waits for the rest. */
function startClose (c) {
  if (!c.closing) {
    c.closing = new Promise((resolve) => {
      c.server.close((err) => resolve(err))
    }).then(err => c.ctx.drained(200).then(() => err))
  }
  return c.closing
}

/** Destroys every connection of an app whose close waits for hanging requests. */
function force (c) {
  try { c.server.closeAllConnections() } catch { /* not listening */ }
}

const settledWithin = (promise, ms) =>
  Promise.race([promise.then(() => true), sleep(ms).then(() => false)])

/** Closes an app for good before a new load or exit: grace period, then cut its connections. */
async function retire (c, { mute }) {
  if (mute) c.ctx.muted = true
  const closing = startClose(c)
  if (!(await settledWithin(closing, 500))) {
    force(c)
    if (!(await settledWithin(closing, 2000))) log('previous app did not finish closing; moving on')
  }
  c.closed = true
}

async function load (cmd) {
  if (current) {
    const previous = current
    current = null
    await retire(previous, { mute: true })
  }
  const dialect = cmd.dialect ?? 'fastify'
  if (dialect !== 'koa') {
    print({ t: 'unsupported', what: `dialect ${dialect}` })
    return
  }
  const desc = cmd.app ?? {}
  try {
    checkApp(desc)
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err
    print({ t: 'unsupported', what: err.message })
    return
  }
  const ctx = new AppContext()
  const koa = buildKoa(ctx, desc)
  // Node's defaults, as `app.listen()` would use them.
  const server = http.createServer(koa.callback())
  ctx.track(server)
  current = { server, ctx, closing: null, closed: false }
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  print({ t: 'ready', port: server.address().port })
}

async function close () {
  if (current && !current.closed) {
    const err = await startClose(current)
    current.closed = true
    if (err) {
      print({ t: 'closed', error: `${err.code ? err.code + ': ' : ''}${err.message}` })
      return
    }
  }
  print({ t: 'closed' })
}

async function exit () {
  if (current && !current.closed) await retire(current, { mute: false })
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------
// Command loop

function startupFailure (err) {
  log(`could not start the app: ${err?.code ? err.code + ': ' : ''}${err?.stack ?? err}`)
  process.exit(1)
}

let queue = Promise.resolve()

function handleLine (line) {
  if (line.trim() === '') return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch {
    log(`ignoring a line that is not JSON: ${line}`)
    return
  }
  if (!isObject(cmd) || typeof cmd.cmd !== 'string') {
    log(`ignoring a line that is not a command: ${line}`)
    return
  }
  // v2.6 (§3.1): answered outside the queue, so a wait the harness gives up on blocks nothing.
  if (cmd.cmd === 'idle') {
    idle.answerWhenIdle(cmd.id)
    return
  }
  if (cmd.cmd === 'load') idle.forget() // a wait the harness gave up on
  // A close still waiting for a hanging request must not block the next load/exit.
  if ((cmd.cmd === 'load' || cmd.cmd === 'exit') && current?.closing && !current.closed) force(current)
  queue = queue.then(() => {
    switch (cmd.cmd) {
      case 'load': return load(cmd).catch(startupFailure)
      case 'close': return close()
      case 'exit': return exit()
      default: log(`ignoring unknown command '${cmd.cmd}'`)
    }
  })
}

print({
  t: 'hello',
  target: 'koa',
  version: selected.version,
  dialects: ['koa'],
  features: ['streams', 'aborts', 'idle'],
  adapter: ADAPTER_VERSION,
  node: process.version,
  koaCompose: installedVersion('koa-compose')
})

const input = createInterface({ input: process.stdin, crlfDelay: Infinity })
input.on('line', handleLine)
input.on('close', () => {
  // The harness went away: finish what was asked, without waiting for hanging requests.
  if (current?.closing && !current.closed) force(current)
  queue.then(() => process.exit(0))
})
