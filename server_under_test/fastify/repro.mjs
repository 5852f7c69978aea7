#!/usr/bin/env node
// lifecheck repro generator (issue 17): writes a scenario's app (dialect fastify) as a minimal,
// readable JavaScript program that uses the Fastify API directly, and its steps as curl commands.
//
// It sits beside adapter.mjs and follows it construct by construct (same verbs, same payloads,
// same argument counts, same order of registration: npmPlugins, hooks, setErrorHandler,
// setNotFoundHandler, routes, register, late), minus the tracing: the program is what a user
// would paste into an issue. What it cannot write is listed in `gaps` and marked in the output
// with `// not generated: ...`, never written wrong. `lifecheck repro FILE.json` runs it:
//
//   node repro.mjs SCENARIO.json   → stdout: {"program", "commands", "script", "gaps", "install"}
//
// `commands` are the steps for a reader (http://127.0.0.1:3000); `script` is the same as an sh
// script whose port is $PORT (the program listens on $PORT, default 3000; PORT=0 prints the
// port it got) and which closes the app with SIGINT to $APP_PID for a `close` step.

import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// ---------------------------------------------------------------------------------------------
// Small writers

/** A single-quoted JS string literal (the style of Fastify's own code). */
const q = s => `'${JSON.stringify(String(s)).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`
const sh = s => `'${String(s).replace(/'/g, `'\\''`)}'` // a shell word
const ident = s => {
  const id = String(s).replace(/[^A-Za-z0-9_$]/g, '_')
  return /^[A-Za-z_$]/.test(id) ? id : `_${id}`
}
const indent = (lines, n = 2) => lines.map(l => (l === '' ? '' : ' '.repeat(n) + l))

/** A JS string expression for a long text: runs of 32+ equal characters become .repeat(). */
function textExpr (text, quote = q) {
  const parts = []
  let plain = ''
  for (let i = 0; i < text.length;) {
    let j = i
    while (j < text.length && text[j] === text[i]) j++
    if (j - i >= 32) {
      if (plain) parts.push(quote(plain))
      plain = ''
      parts.push(`${quote(text[i])}.repeat(${j - i})`)
    } else plain += text.slice(i, j)
    i = j
  }
  if (plain || parts.length === 0) parts.push(quote(plain))
  return parts.join(' + ')
}

/** A JS literal for a JSON value, on one line: `{ status: 200, headers: { 'x-a': 'b' } }`. */
function literal (v) {
  if (v === undefined) return 'undefined'
  if (typeof v === 'string') return q(v)
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v)
    if (entries.length === 0) return '{}'
    const key = k => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : q(k))
    return `{ ${entries.map(([k, x]) => `${key(k)}: ${literal(x)}`).join(', ')} }`
  }
  return JSON.stringify(v)
}

// ---------------------------------------------------------------------------------------------
// The program

/** An `error` PAYLOAD as an expression: new Error(message ?? 'boom') with its own properties. */
function errorPayload (p) {
  const props = {}
  for (const k of ['statusCode', 'status', 'code']) if (p[k] !== undefined) props[k] = p[k]
  if (p.headers !== undefined) props.headers = p.headers
  Object.assign(props, p.props ?? {})
  const err = `new Error(${q(p.message ?? 'boom')})`
  return Object.keys(props).length ? `Object.assign(${err}, ${literal(props)})` : err
}

/** The helper a `stream` PAYLOAD becomes (it needs the `sleep` helper). */
const NODE_STREAM = `// A Node Readable: the chunks, delayMs apart; fails after failAfter chunks when given.
function nodeStream (chunks, delayMs = 0, failAfter = undefined) {
  const { Readable } = require('node:stream')
  return Readable.from((async function * () {
    for (let i = 0; i < chunks.length; i++) {
      if (i === failAfter) throw new Error('stream failed')
      if (i > 0) await sleep(delayMs)
      yield Buffer.from(chunks[i])
    }
    if (failAfter !== undefined) { await sleep(delayMs); throw new Error('stream failed') }
  })())
}`

/** The arguments of nodeStream() / webStream() for a stream PAYLOAD. */
function streamArgs (p) {
  const args = [literal(p.chunks ?? [])]
  if (p.chunkDelayMs !== undefined || p.failAfterChunks !== undefined) args.push(String(p.chunkDelayMs ?? 0))
  if (p.failAfterChunks !== undefined) args.push(String(p.failAfterChunks))
  return args.join(', ')
}

class Writer {
  constructor () {
    this.helpers = new Map() // name → code, written once before the app
    this.gaps = [] // what was not generated, with where
    this.flags = false
    this.shared = new Map() // Response `shared` name → variable
    this.needsAsyncMain = false
  }

  gap (what) {
    this.gaps.push(what)
    return `// not generated: ${what}`
  }

  helper (name, code) {
    if (!this.helpers.has(name)) this.helpers.set(name, code)
    return name
  }

  sleep () {
    return this.helper('sleep', 'const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))')
  }

  /** The JS expression a PAYLOAD stands for (adapter.mjs materialize). */
  payload (p, where) {
    if (p === undefined) return 'undefined'
    switch (p.kind) {
      case 'json': return literal('value' in p ? p.value : null)
      case 'string': return q(p.value ?? '')
      case 'buffer': return `Buffer.from(${q(p.base64 ?? '')}, 'base64')`
      case 'empty':
      case 'undefined': return 'undefined'
      case 'stream': return `${this.streamHelper('nodeStream')}(${streamArgs(p)})`
      case 'webStream': {
        const s = `${this.streamHelper('webStream')}(${streamArgs(p)})`
        return p.locked === true ? `${this.lockedHelper()}(${s})` : s
      }
      case 'response': {
        const r = this.response(p, where)
        if (p.shared === undefined) return r
        if (!this.shared.has(p.shared)) this.shared.set(p.shared, `shared${ident(p.shared)}`)
        const v = this.shared.get(p.shared)
        return `(${v} ??= ${r})` // one Response instance for every send (scenario-format §1.3)
      }
      case 'error': return errorPayload(p)
      case 'read': // v2.6 (§1.13): request data and state, read where the op runs
        if (p.of !== undefined) return refExpr(p.of)
        return `{ ${Object.entries(p.object ?? {}).map(([k, r]) => `${q(k)}: ${refExpr(r)}`).join(', ')} }`
    }
    return `undefined /* ${this.gap(`${where}: payload kind '${p.kind}'`).slice(3)} */`
  }

  streamHelper (kind) {
    this.sleep()
    if (kind === 'nodeStream') return this.helper('nodeStream', NODE_STREAM)
    return this.helper('webStream', `// A web ReadableStream: the chunks, delayMs apart, produced when read; fails after failAfter chunks.
function webStream (chunks, delayMs = 0, failAfter = undefined) {
  let i = 0
  const total = failAfter === undefined ? chunks.length : Math.min(failAfter, chunks.length)
  return new ReadableStream({
    async pull (controller) {
      if (i > 0) await sleep(delayMs)
      if (i < total) controller.enqueue(new TextEncoder().encode(chunks[i++]))
      else if (failAfter !== undefined) controller.error(new Error('stream failed'))
      else controller.close()
    }
  }, { highWaterMark: 0 })
}`)
  }

  lockedHelper () {
    return this.helper('locked', `// Locks a web stream the way the report does: a reader that is never released.
function locked (stream) {
  stream.getReader()
  return stream
}`)
  }

  response (p, where) {
    let body = 'null'
    let lockBody = false
    const b = p.body
    if (b != null) {
      if (b.kind === 'string') body = q(b.value ?? '')
      else if (b.kind === 'buffer') body = `Buffer.from(${q(b.base64 ?? '')}, 'base64')`
      else if (b.kind === 'webStream') {
        body = `${this.streamHelper('webStream')}(${streamArgs(b)})`
        lockBody = b.locked === true
      } else if (b.kind !== 'empty') body = `null /* ${this.gap(`${where}.body: kind '${b.kind}'`).slice(3)} */`
    }
    const init = { status: p.status ?? 200 }
    if (p.headers !== undefined) init.headers = p.headers
    const r = `new Response(${body}, ${literal(init)})`
    if (!lockBody) return r
    return `${this.helper('lockedBody', `// A Response whose body stream is locked (response.body.getReader()) before it is sent.
function lockedBody (response) {
  response.body.getReader()
  return response
}`)}(${r})`
  }

  error (a) {
    const props = {}
    const statusCode = a.error?.statusCode ?? a.status
    if (statusCode !== undefined) props.statusCode = statusCode
    if (a.error?.code !== undefined) props.code = a.error.code
    const err = `new Error(${q(a.error?.message ?? 'boom')})`
    return Object.keys(props).length ? `Object.assign(${err}, ${literal(props)})` : err
  }

  /** reply.code(status ?? 200).headers(headers).send(payload), as adapter.mjs doSend. */
  send (a, where) {
    const headers = a.headers && Object.keys(a.headers).length ? `.headers(${literal(a.headers)})` : ''
    const payload = a.payload === undefined ? '' : this.payload(a.payload, `${where}.payload`)
    return `reply.code(${a.status ?? 200})${headers}.send(${payload})`
  }

  hijack (a, where) {
    const v = a.payload === undefined ? undefined : this.payload(a.payload, `${where}.payload`)
    const body = v === undefined || v === 'undefined'
      ? ''
      : a.payload.kind === 'json' && typeof a.payload.value !== 'string' ? `JSON.stringify(${v})` : v
    return ['reply.hijack()', `reply.raw.writeHead(${a.status ?? 200}, ${literal(a.headers ?? {})})`, `reply.raw.end(${body})`]
  }

  when (a, otherwise) {
    if (a.when === undefined) return []
    this.flags = true
    return [`if ((flags.get(${q(a.when.flag)}) ?? false) !== ${a.when.is ?? false}) ${otherwise}`]
  }

  set (a) {
    if (a.set === undefined) return []
    this.flags = true
    return [`flags.set(${q(a.set.flag)}, ${a.set.value ?? false})`]
  }
}

// Parameters of the async and the callback form of each hook (adapter.mjs ASYNC_ARITY, CALLBACK_ARITY).
const ASYNC_PARAMS = {
  onRequest: ['request', 'reply'],
  preParsing: ['request', 'reply', 'payload'],
  preValidation: ['request', 'reply'],
  preHandler: ['request', 'reply'],
  preSerialization: ['request', 'reply', 'payload'],
  onSend: ['request', 'reply', 'payload'],
  onResponse: ['request', 'reply'],
  onError: ['request', 'reply', 'error'],
  onTimeout: ['request', 'reply'],
  onRequestAbort: ['request'],
  onReady: [],
  onListen: [],
  preClose: [],
  onClose: ['instance'],
  onRoute: ['routeOptions'],
  onRegister: ['instance', 'opts']
}
const APP_PHASES = ['onReady', 'onListen', 'preClose', 'onClose', 'onRoute', 'onRegister']

/** A REF of scenario-format §1.13 as JavaScript: request.query['a'], request.headers['x-a'], this.foo. */
function refExpr (ref) {
  const m = /^request\.(query|params|headers)\.(.+)$/.exec(ref)
  return m ? `request.${m[1]}[${q(m[2])}]` : ref
}

/** A function expression: `async (a, b) => {` body `}`, or one line when the body is empty;
 * `async function (a, b) {` when the body reads or writes `this` (v2.6 decorations). */
function fn (isAsync, params, body) {
  const usesThis = body.some(line => /\bthis\./.test(line))
  const head = usesThis
    ? `${isAsync ? 'async ' : ''}function (${params.join(', ')})`
    : `${isAsync ? 'async ' : ''}(${params.join(', ')}) =>`
  if (body.length === 0) return [`${head} {}`]
  return [`${head} {`, ...indent(body), '}']
}

/** The statements of a v2 `ops` list (adapter.mjs makeOpsFunction / runOpsSync). */
function opsBody (w, ops, isAsync, where, hasReply) {
  const out = []
  for (let i = 0; i < ops.length; i++) {
    const [k, v] = Object.entries(ops[i])[0]
    const at = `${where}.ops[${i}]`
    switch (k) {
      case 'code': out.push(`reply.code(${literal(v)})`); break
      case 'header': out.push(`reply.header(${q(v[0])}, ${literal(v[1])})`); break
      case 'headers': out.push(`reply.headers(${literal(v)})`); break
      case 'removeHeader': out.push(`reply.removeHeader(${q(v)})`); break
      case 'type': out.push(`reply.type(${q(v)})`); break
      case 'send': out.push(v === null ? 'reply.send()' : `reply.send(${w.payload(v, `${at}.send`)})`); break
      case 'set': out.push(...w.set({ set: v })); break
      case 'callNotFound': out.push('reply.callNotFound()'); break
      case 'hijack': out.push('reply.hijack()'); break
      case 'await':
        if (isAsync) out.push(`await ${w.sleep()}(${v})`)
        else {
          const rest = opsBody(w, ops.slice(i + 1), false, where, hasReply)
          out.push(`setTimeout(() => {`, ...indent(rest), `}, ${v})`)
          return out
        }
        break
      case 'return': out.push(v === 'reply' ? 'return reply' : `return ${w.payload(v, `${at}.return`)}`); return out
      case 'throw': out.push(`throw ${w.payload(v, `${at}.throw`)}`); return out
      case 'done':
        if (v === null) out.push('done()')
        else if ('error' in v) out.push(`done(${w.payload(v.error, `${at}.done.error`)})`)
        else out.push(`done(null, ${w.payload(v.payload, `${at}.done.payload`)})`)
        break
      case 'hang': out.push(isAsync ? 'return new Promise(() => {}) // never settles' : 'return // never calls done'); return out
      case 'assign': out.push(`${refExpr(v[0])} = ${w.payload(v[1], `${at}.assign`)}`); break
      case 'increment': out.push(`${refExpr(v)}++`); break
      default: out.push(w.gap(`${at}: op '${k}'`))
    }
  }
  return out
}

function opsFunction (w, a, params, where, { hasReply = true } = {}) {
  const isAsync = (a.style ?? 'async') === 'async'
  const hasDone = params.includes('done')
  const body = [...w.when(a, hasDone ? '{ done(); return }' : 'return'), ...opsBody(w, a.ops, isAsync, where, hasReply)]
  return fn(isAsync, params, body)
}

/** A request hook (adapter.mjs makeRequestHook). */
function requestHook (w, phase, a, where) {
  const isAsync = (a.style ?? 'async') === 'async'
  const params = isAsync ? ASYNC_PARAMS[phase] : [...ASYNC_PARAMS[phase], 'done']
  if (a.ops !== undefined) return opsFunction(w, a, params, where)
  const verb = a.do ?? 'continue'
  const delay = a.delayMs
  if (isAsync) {
    const body = [...w.when(a, 'return')]
    if (delay !== undefined) body.push(`await ${w.sleep()}(${delay})`)
    body.push(...w.set(a))
    switch (verb) {
      case 'continue': break
      case 'throw': body.push(`throw ${w.error(a)}`); break
      case 'send': body.push(w.send(a, where), 'return reply'); break
      case 'sendThenContinue': body.push(w.send(a, where)); break
      case 'hang': body.push('return new Promise(() => {}) // never settles'); break
      case 'replacePayload': body.push(`return ${w.payload(a.payload, `${where}.payload`)}`); break
      case 'hijack': body.push(...w.hijack(a, where)); break
      default: body.push(w.gap(`${where}: verb '${verb}'`))
    }
    return fn(true, params, body)
  }
  const body = [...w.when(a, '{ done(); return }')]
  if (verb === 'throw' && delay === undefined) {
    body.push(...w.set(a), `throw ${w.error(a)}`)
    return fn(false, params, body)
  }
  const act = [...w.set(a)]
  switch (verb) {
    case 'continue': act.push('done()'); break
    case 'throw': act.push(`done(${w.error(a)})`); break
    case 'send': act.push(`${w.send(a, where)} // and never calls done`); break
    case 'sendThenContinue': act.push(w.send(a, where), 'done()'); break
    case 'hang': act.push('// never calls done'); break
    case 'replacePayload': act.push(`done(null, ${w.payload(a.payload, `${where}.payload`)})`); break
    case 'hijack': act.push(...w.hijack(a, where), 'done()'); break
    default: act.push(w.gap(`${where}: verb '${verb}'`))
  }
  if (delay !== undefined) body.push('setTimeout(() => {', ...indent(act), `}, ${delay})`)
  else body.push(...act)
  return fn(false, params, body)
}

/** onReady / onListen / preClose / onClose (adapter.mjs makeAppHook): continue or throw. */
function appHook (w, phase, a, where) {
  if (a.style === 'sync' || phase === 'onRoute' || phase === 'onRegister') { // v2.6: a plain function
    const verb = a.do ?? 'continue'
    return fn(false, ASYNC_PARAMS[phase], [...w.when(a, 'return'), ...w.set(a), ...(verb === 'throw' ? [`throw ${w.error(a)}`] : [])])
  }
  const isAsync = (a.style ?? 'async') === 'async'
  const params = isAsync ? ASYNC_PARAMS[phase] : [...ASYNC_PARAMS[phase], 'done']
  if (a.ops !== undefined) return opsFunction(w, a, params, where, { hasReply: false })
  const verb = a.do ?? 'continue'
  const delay = a.delayMs
  if (isAsync) {
    const body = [...w.when(a, 'return')]
    if (delay !== undefined) body.push(`await ${w.sleep()}(${delay})`)
    body.push(...w.set(a))
    if (verb === 'throw') body.push(`throw ${w.error(a)}`)
    return fn(true, params, body)
  }
  const body = [...w.when(a, '{ done(); return }')]
  if (verb === 'throw' && delay === undefined) return fn(false, params, [...body, ...w.set(a), `throw ${w.error(a)}`])
  const act = [...w.set(a), verb === 'throw' ? `done(${w.error(a)})` : 'done()']
  if (delay !== undefined) body.push('setTimeout(() => {', ...indent(act), `}, ${delay})`)
  else body.push(...act)
  return fn(false, params, body)
}

/** A route or not-found handler (adapter.mjs makeHandler). */
function handler (w, a, where) {
  const isAsync = (a.style ?? 'async') === 'async'
  const params = ['request', 'reply']
  if (a.ops !== undefined) return opsFunction(w, a, params, where)
  const verb = a.do ?? 'continue'
  const delay = a.delayMs
  if (isAsync) {
    const body = [...w.when(a, 'return')]
    if (delay !== undefined) body.push(`await ${w.sleep()}(${delay})`)
    body.push(...w.set(a))
    switch (verb) {
      case 'continue': if (a.payload !== undefined) body.push(`return ${w.payload(a.payload, `${where}.payload`)}`); break
      case 'throw': body.push(`throw ${w.error(a)}`); break
      case 'send': body.push(w.send(a, where), 'return reply'); break
      case 'hang': body.push('return new Promise(() => {}) // never settles'); break
      case 'hijack': body.push(...w.hijack(a, where)); break
      default: body.push(w.gap(`${where}: verb '${verb}' in a handler`))
    }
    return fn(true, params, body)
  }
  const body = [...w.when(a, 'return // without answering')]
  if (verb === 'throw' && delay === undefined) return fn(false, params, [...body, ...w.set(a), `throw ${w.error(a)}`])
  const act = [...w.set(a)]
  switch (verb) {
    case 'continue': act.push(`reply.send(${a.payload === undefined ? '' : w.payload(a.payload, `${where}.payload`)})`); break
    case 'throw': act.push(`reply.send(${w.error(a)})`); break
    case 'send': act.push(w.send(a, where)); break
    case 'hang': act.push('// never answers'); break
    case 'hijack': act.push(...w.hijack(a, where)); break
    default: act.push(w.gap(`${where}: verb '${verb}' in a handler`))
  }
  if (delay !== undefined) body.push('setTimeout(() => {', ...indent(act), `}, ${delay})`)
  else body.push(...act)
  return fn(false, params, body)
}

/** An error handler (adapter.mjs makeErrorHandler): (error, request, reply). */
function errorHandler (w, a, where) {
  const isAsync = (a.style ?? 'async') === 'async'
  const params = ['error', 'request', 'reply']
  if (a.ops !== undefined) return opsFunction(w, a, params, where)
  const verb = a.do ?? 'continue'
  const delay = a.delayMs
  const payload = () => w.payload(a.payload, `${where}.payload`)
  if (isAsync) {
    const body = [...w.when(a, 'return')]
    if (delay !== undefined) body.push(`await ${w.sleep()}(${delay})`)
    body.push(...w.set(a))
    switch (verb) {
      case 'continue': body.push(`return ${payload()}`); break
      case 'throw': body.push(`throw ${w.error(a)}`); break
      case 'rethrow': body.push('throw error'); break
      case 'send': body.push(w.send(a, where), 'return reply'); break
      case 'hang': body.push('return new Promise(() => {}) // never settles'); break
      case 'hijack': body.push(...w.hijack(a, where)); break
      default: body.push(w.gap(`${where}: verb '${verb}'`))
    }
    return fn(true, params, body)
  }
  const body = [...w.when(a, 'return // without answering')]
  if (delay === undefined) {
    body.push(...w.set(a))
    switch (verb) {
      case 'continue': body.push(`return ${payload()} // Fastify sends what a sync error handler returns`); break
      case 'throw': body.push(`throw ${w.error(a)}`); break
      case 'rethrow': body.push('throw error'); break
      case 'send': body.push(w.send(a, where)); break
      case 'hijack': body.push(...w.hijack(a, where)); break
      case 'hang': body.push('// never answers'); break
      default: body.push(w.gap(`${where}: verb '${verb}'`))
    }
    return fn(false, params, body)
  }
  const act = [...w.set(a)]
  switch (verb) {
    case 'continue': act.push(`reply.send(${payload()})`); break
    case 'throw': act.push(`reply.send(${w.error(a)})`); break
    case 'rethrow': act.push('reply.send(error)'); break
    case 'send': act.push(w.send(a, where)); break
    case 'hijack': act.push(...w.hijack(a, where)); break
    case 'hang': act.push('// never answers'); break
    default: act.push(w.gap(`${where}: verb '${verb}'`))
  }
  body.push('setTimeout(() => {', ...indent(act), `}, ${delay})`)
  return fn(false, params, body)
}

/** `f(args, <function>)` with the function's lines attached: the last argument spans lines. */
function call (head, fnLines, tail = ')') {
  if (fnLines.length === 1) return [`${head}${fnLines[0]}${tail}`]
  return [`${head}${fnLines[0]}`, ...fnLines.slice(1, -1), `${fnLines[fnLines.length - 1]}${tail}`]
}

function hookLines (w, v, hooks, where) {
  const out = []
  for (const [phase, list] of Object.entries(hooks ?? {})) {
    if (!Array.isArray(list)) continue
    list.forEach((a, i) => {
      const at = `${where}.${phase}[${i}]`
      const f = APP_PHASES.includes(phase) ? appHook(w, phase, a, at) : requestHook(w, phase, a, at)
      out.push(...call(`${v}.addHook(${q(phase)}, `, f))
    })
  }
  return out
}

const SHORTHANDS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']

function routeLines (w, v, r, where) {
  const method = r.method ?? 'GET'
  const h = handler(w, r.handler, `${where}.handler`)
  const plain = r.hooks === undefined && r.errorHandler === undefined && r.handlerTimeoutMs === undefined &&
    r.bodyLimit === undefined
  if (plain && typeof method === 'string' && SHORTHANDS.includes(method.toUpperCase())) {
    return call(`${v}.${method.toLowerCase()}(${q(r.url)}, `, h)
  }
  const out = [`${v}.route({`, `  method: ${literal(method)},`, `  url: ${q(r.url)},`]
  // v2.6 route options (scenario-format §1.11)
  if (r.handlerTimeoutMs !== undefined) out.push(`  handlerTimeout: ${literal(r.handlerTimeoutMs)},`)
  if (r.bodyLimit !== undefined) out.push(`  bodyLimit: ${literal(r.bodyLimit)},`)
  if (r.errorHandler !== undefined) {
    out.push(...indent(call('errorHandler: ', errorHandler(w, r.errorHandler, `${where}.errorHandler`), ',')))
  }
  out.push(...optionHookLines(w, r.hooks, `${where}.hooks`))
  out.push(...indent(call('handler: ', h, '')), '})')
  return out
}

/** Hook options of a route or of setNotFoundHandler (v2.6): `phase: fn,` or `phase: [fns],`. */
function optionHookLines (w, hooks, where) {
  const out = []
  for (const [phase, list] of Object.entries(hooks ?? {})) {
    const fns = list.map((a, i) => requestHook(w, phase, a, `${where}.${phase}[${i}]`))
    if (fns.length === 1) out.push(...indent(call(`${phase}: `, fns[0], ',')))
    else {
      out.push(`  ${phase}: [`)
      fns.forEach(f => out.push(...indent(call('', f, ','), 4)))
      out.push('  ],')
    }
  }
  return out
}

const SCOPE_KEYS = ['npmPlugins', 'decorate', 'decorateRequest', 'decorateReply', 'hooks', 'errorHandler', 'notFoundHandler', 'notFoundOptions', 'routes', 'plugins', 'late',
  'name', 'prefix', 'encapsulate', 'await', 'options']

/** One scope's registrations, in adapter.mjs buildScope's order; `v` is the instance variable. */
function scopeLines (w, v, s, where, isRoot) {
  const out = []
  for (const k of Object.keys(s)) if (!SCOPE_KEYS.includes(k)) out.push(w.gap(`${where}.${k}`))
  for (const [i, entry] of (s.npmPlugins ?? []).entries()) {
    if (isRoot) w.needsAsyncMain = true
    w.npm = [...(w.npm ?? []), entry.version ? `${entry.name}@${entry.version}` : entry.name]
    out.push(`await ${v}.register(require(${q(entry.name)}), ${literal(entry.options ?? {})}) // npmPlugins[${i}]`)
  }
  for (const call of ['decorate', 'decorateRequest', 'decorateReply']) {
    for (const [k, val] of Object.entries(s[call] ?? {})) out.push(`${v}.${call}(${q(k)}, ${literal(val)})`)
  }
  out.push(...hookLines(w, v, s.hooks, `${where}.hooks`))
  if (s.errorHandler !== undefined) out.push(...call(`${v}.setErrorHandler(`, errorHandler(w, s.errorHandler, `${where}.errorHandler`)))
  if (s.notFoundHandler !== undefined) {
    const h = handler(w, s.notFoundHandler, `${where}.notFoundHandler`)
    if (s.notFoundOptions === undefined) out.push(...call(`${v}.setNotFoundHandler(`, h))
    else {
      const { errorHandler: eh, ...hooks } = s.notFoundOptions
      const ehLines = eh === undefined ? [] : indent(call('errorHandler: ', errorHandler(w, eh, `${where}.notFoundOptions.errorHandler`), ','))
      out.push(`${v}.setNotFoundHandler({`, ...optionHookLines(w, hooks, `${where}.notFoundOptions`), ...ehLines, ...call('}, ', h))
    }
  }
  ;(s.routes ?? []).forEach((r, i) => out.push(...routeLines(w, v, r, `${where}.routes[${i}]`)))
  ;(s.plugins ?? []).forEach((p, i) => {
    const at = `${where}.plugins[${i}]`
    const name = ident(p.name ?? `plugin${i}`)
    const body = scopeLines(w, 'fastify', p, at, false)
    const opts = p.prefix !== undefined ? `, { prefix: ${q(p.prefix)} }` : ''
    const awaited = p.await === true ? 'await ' : ''
    if (p.await === true && isRoot) w.needsAsyncMain = true
    if (p.encapsulate === false) {
      out.push(`async function ${name} (fastify) {`, ...indent(body), '}',
        `${name}[Symbol.for('skip-override')] = true // fastify-plugin: no encapsulation, runs on the parent`,
        `${awaited}${v}.register(${name}${opts})`)
    } else {
      out.push(`${awaited}${v}.register(async function ${name} (fastify) {`, ...indent(body), `}${opts})`)
    }
  })
  if (s.late !== undefined) {
    const late = [...hookLines(w, v, s.late.hooks, `${where}.late.hooks`)]
    if (s.late.errorHandler !== undefined) late.push(...call(`${v}.setErrorHandler(`, errorHandler(w, s.late.errorHandler, `${where}.late.errorHandler`)))
    if (late.length) out.push('// after the register() calls:', ...late)
  }
  return out
}

const OPTION_NAMES = {
  connectionTimeoutMs: 'connectionTimeout',
  requestTimeoutMs: 'requestTimeout',
  bodyLimit: 'bodyLimit',
  return503OnClosing: 'return503OnClosing',
  handlerTimeoutMs: 'handlerTimeout'
}

function program (sc) {
  const w = new Writer()
  const app = sc.app ?? {}
  const options = {}
  for (const [k, v] of Object.entries(app.options ?? {})) {
    if (OPTION_NAMES[k]) options[OPTION_NAMES[k]] = v
    else w.gap(`$.app.options.${k}`)
  }
  const body = scopeLines(w, 'fastify', app, '$.app', true)
  const closes = (sc.steps ?? []).some(function has (s) { return s.close === true || (s.parallel ?? []).some(has) })
  const head = [`const fastify = require('fastify')(${Object.keys(options).length ? literal(options) : ''})`]
  const before = []
  if (w.flags) before.push('const flags = new Map() // the scenario\'s flags (set by one callback, tested by another)')
  for (const v of w.shared.values()) before.push(`let ${v} // one Response, sent by every request that names it`)
  const listen = [
    "fastify.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }).then(address => {",
    "  console.log('listening on ' + address)",
    '})'
  ]
  if (closes) {
    listen.push('// the scenario closes the app: Ctrl-C (SIGINT) runs fastify.close() and its preClose/onClose hooks',
      "process.once('SIGINT', () => { fastify.close().then(() => console.log('closed')) })")
  }
  const lines = ['\'use strict\'', ...head, '']
  for (const code of w.helpers.values()) lines.push(code, '')
  if (before.length) lines.push(...before, '')
  if (w.needsAsyncMain) {
    lines.push('async function main () {', ...indent(body), '', ...indent(listen), '}', 'main()')
  } else lines.push(...body, '', ...listen)
  return { text: lines.join('\n') + '\n', w }
}

// ---------------------------------------------------------------------------------------------
// The steps as commands

/** The bytes the harness writes for a request step (scenario-format §1.4), without x-lifecheck-req. */
function wire (req) {
  const body = req.bodyBase64 !== undefined ? Buffer.from(req.bodyBase64, 'base64').toString('latin1') : (req.body ?? '')
  let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\nhost: 127.0.0.1\r\n`
  for (const [k, v] of Object.entries(req.headers ?? {})) text += `${k}: ${v}\r\n`
  if (req.chunked) {
    text += 'transfer-encoding: chunked\r\n\r\n'
    if (body.length) text += `${body.length.toString(16)}\r\n${body}\r\n`
    return text + '0\r\n\r\n'
  }
  if (body.length || ['POST', 'PUT', 'PATCH'].includes(req.method)) text += `content-length: ${Buffer.byteLength(body, 'latin1')}\r\n`
  return text + '\r\n' + body
}

/** A node one-liner that writes bytes to the app and prints what comes back (nc where installed). */
function rawCommand (text, port, { cutAfter } = {}) {
  // Double-quoted JS strings: the code goes inside a single-quoted shell word.
  const bytes = cutAfter === undefined ? textExpr(text, JSON.stringify) : `(${textExpr(text, JSON.stringify)}).slice(0, ${cutAfter})`
  const end = cutAfter === undefined ? 's.write(' + bytes + ')' : 's.end(' + bytes + ')'
  const js = `const s = require("net").connect(${port === '$PORT' ? 'process.env.PORT' : port}, "127.0.0.1", () => ${end}); s.pipe(process.stdout); s.setTimeout(2000, () => s.destroy())`
  return `node -e ${sh(js)}`
}

function curl (step, port, gaps) {
  const req = step.request
  const method = (req.method ?? 'GET').toUpperCase()
  const hasBody = req.body !== undefined || req.bodyBase64 !== undefined
  const args = ['curl', '-sS', '-i']
  if (method === 'HEAD') args[2] = '-I'
  else if (!(method === 'GET' && !hasBody) && !(method === 'POST' && hasBody)) args.push('-X', method)
  const headers = Object.entries(req.headers ?? {})
  for (const [k, v] of headers) args.push('-H', sh(`${k}: ${v}`))
  if (hasBody && !headers.some(([k]) => k.toLowerCase() === 'content-type')) args.push('-H', sh('content-type:')) // curl would add one
  if (req.chunked) args.push('-H', sh('transfer-encoding: chunked'))
  let prefix = ''
  if (req.body !== undefined) args.push('--data-binary', sh(req.body))
  else if (req.bodyBase64 !== undefined) {
    prefix = `printf '%s' ${sh(req.bodyBase64)} | base64 -d | `
    args.push('--data-binary', '@-')
  }
  const c = step.client ?? {}
  let suffix = ''
  const notes = []
  if (c.abortAfterMs !== undefined) {
    args.push('--max-time', String(c.abortAfterMs / 1000))
    notes.push(`the client gives up after ${c.abortAfterMs} ms`)
  }
  if (c.abortAfterResponseBodyBytes !== undefined || c.abortAfterResponseBytes !== undefined) {
    const n = c.abortAfterResponseBodyBytes ?? c.abortAfterResponseBytes
    if (c.abortAfterResponseBodyBytes !== undefined) args[2] = '--no-buffer'
    else args.push('--no-buffer')
    suffix = ` | head -c ${n}`
    notes.push(`the client closes after ${n} response${c.abortAfterResponseBodyBytes !== undefined ? ' body' : ''} bytes`)
  }
  if (c.abortAfterRequestBytes !== undefined || c.abortAfterBodyBytes !== undefined) {
    const text = wire(req)
    const n = c.abortAfterRequestBytes ?? (text.indexOf('\r\n\r\n') + 4 + c.abortAfterBodyBytes)
    return { command: rawCommand(text, port, { cutAfter: n }), note: `writes the first ${n} bytes of the request, then closes` }
  }
  for (const k of ['bytesPerWrite', 'writeDelayMs']) if (c[k] !== undefined) gaps.push(`step ${step.id}: client.${k} (the command writes the request at once)`)
  if (c.expectNoResponse) notes.push('no response expected')
  if (step.connection !== undefined) gaps.push(`step ${step.id}: connection "${step.connection}" (each command opens its own connection)`)
  const url = `http://127.0.0.1:${port}${req.url ?? '/'}`
  return { command: `${prefix}${args.join(' ')} ${sh(url)}${suffix}`, note: notes.join('; ') }
}

function stepCommands (steps, port, gaps, forScript) {
  const out = []
  for (const step of steps ?? []) {
    if (step.parallel !== undefined) {
      out.push('# at once:')
      for (const line of stepCommands(step.parallel, port, gaps, forScript)) out.push(line.startsWith('#') ? line : `${line} &`)
      out.push('wait')
    } else if (step.sleepMs !== undefined) out.push(`sleep ${step.sleepMs / 1000}`)
    else if (step.close === true) {
      out.push(forScript ? '[ -z "$APP_PID" ] || { kill -INT "$APP_PID"; sleep 0.5; }' : '# close: press Ctrl-C where the program runs (it calls fastify.close())')
    } else if (step.raw !== undefined) {
      out.push(`# ${step.id}: raw bytes`, rawCommand(step.raw, port))
    } else if (step.request !== undefined) {
      const { command, note } = curl(step, port, gaps)
      out.push(`# ${step.id}: ${step.request.method ?? 'GET'} ${step.request.url ?? '/'}${note ? ` (${note})` : ''}`, command)
    } else gaps.push(`a step with keys ${Object.keys(step).join(', ')}`)
  }
  return out
}

// ---------------------------------------------------------------------------------------------

/** The generator's output for one scenario whose program `program` wrote (koa/repro.mjs too). */
export function output (sc, text, gaps, install) {
  const all = [...gaps]
  const commands = stepCommands(sc.steps, 3000, all, false).join('\n') + '\n'
  const script = ['#!/bin/sh', '# the steps of the scenario; the app listens on $PORT (default 3000)', 'export PORT=${PORT:-3000}',
    ...stepCommands(sc.steps, '$PORT', [], true)]
  return {
    program: text,
    commands,
    script: script.join('\n').replaceAll(':$PORT/', ":'\"$PORT\"'/") + '\n',
    gaps: all,
    install
  }
}

/** The scenario named by the one command-line argument (both generators' main()). */
function scenarioFromArgv () {
  const file = process.argv[2]
  if (!file || process.argv.length > 3) {
    process.stderr.write('usage: node repro.mjs SCENARIO.json\n')
    process.exit(2)
  }
  return JSON.parse(readFileSync(file, 'utf8'))
}

export { q, indent, literal, errorPayload, NODE_STREAM, streamArgs, scenarioFromArgv }

function main () {
  const sc = scenarioFromArgv()
  if ((sc.dialect ?? 'fastify') !== 'fastify') {
    process.stdout.write(JSON.stringify({ unsupported: `dialect ${sc.dialect}: the Fastify generator writes fastify scenarios only` }) + '\n')
    return
  }
  const { text, w } = program(sc)
  process.stdout.write(JSON.stringify(output(sc, text, w.gaps, ['fastify', ...(w.npm ?? [])])) + '\n')
}

// Run as a script, not when koa/repro.mjs imports the step writer and the literals from here.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main()
