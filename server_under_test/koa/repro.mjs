#!/usr/bin/env node
// lifecheck repro generator for the koa dialect (issue 17, docs/repro.md): writes a scenario's app
// as a minimal Koa program (`const app = new Koa(); app.use(async (ctx, next) => {...})`),
// following adapter.mjs construct by construct (makeMiddleware, perform, runOps,
// makeErrorListener) minus the tracing. The steps as commands come from the Fastify generator's
// step writer (the same HTTP for both). Output as fastify/repro.mjs:
//
//   node repro.mjs SCENARIO.json   → stdout: {"program", "commands", "script", "gaps", "install"}

import { errorPayload, indent, literal, NODE_STREAM, output, q, scenarioFromArgv, streamArgs } from '../fastify/repro.mjs'

/** v2.6 ctx.throw arguments (adapter.mjs throwArgs): statuses, messages, new Errors, props. */
function throwArgs (args) {
  return args.map(a => {
    if (typeof a !== 'object') return literal(a)
    if ('props' in a) return literal(a.props)
    const { message, ...fields } = a.error
    const err = `new Error(${q(message ?? 'boom')})`
    return Object.keys(fields).length ? `Object.assign(${err}, ${literal(fields)})` : err
  }).join(', ')
}

class Writer {
  constructor () {
    this.gaps = []
    this.helpers = new Map()
    this.flags = false
  }

  gap (what) {
    this.gaps.push(what)
    return `// not generated: ${what}`
  }

  sleep () {
    if (!this.helpers.has('sleep')) this.helpers.set('sleep', 'const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))')
    return 'sleep'
  }

  /** The value of `ctx.body = ...` for a PAYLOAD (adapter.mjs materialize). */
  body (p, where) {
    switch (p.kind) {
      case 'json': return literal('value' in p ? p.value : null)
      case 'string': return q(p.value ?? '')
      case 'buffer': return `Buffer.from(${q(p.base64 ?? '')}, 'base64')`
      case 'empty': return 'null'
      case 'stream': {
        this.sleep()
        this.helpers.set('nodeStream', NODE_STREAM)
        return `nodeStream(${streamArgs(p)})`
      }
    }
    return `undefined ${this.gap(`${where}: payload kind '${p.kind}'`)}`
  }

  /** What `throw` throws (adapter.mjs thrownValue). */
  thrown (p, where) {
    switch (p.kind) {
      case 'error': return errorPayload(p)
      case 'json': return literal('value' in p ? p.value : null)
      case 'string': return q(p.value ?? '')
      case 'undefined': return 'undefined'
    }
    return `undefined ${this.gap(`${where}: throw kind '${p.kind}'`)}`
  }

  /** The statements of one ACTION in a middleware (adapter.mjs perform / runOps). */
  action (a, where) {
    if (a === undefined) return []
    const body = []
    if (a.ops !== undefined) {
      a.ops.forEach((op, i) => {
        const [k, v] = Object.entries(op)[0]
        const at = `${where}.ops[${i}]`
        const errArgs = () => [String(v.status), ...(v.message !== undefined ? [q(v.message)] : []),
          ...(v.props !== undefined ? [literal(v.props)] : [])].join(', ')
        switch (k) {
          case 'ctx.status': body.push(`ctx.status = ${v === 'err' ? 'err.statusCode || err.status || 500' : literal(v)}`); break
          case 'ctx.body': body.push(`ctx.body = ${v === 'err.message' ? 'err.message' : this.body(v, `${at}.ctx.body`)}`); break
          case 'ctx.throw': body.push(`ctx.throw(${v.args ? throwArgs(v.args) : errArgs()})`); break
          case 'ctx.assert': body.push(`ctx.assert(${v.value}, ${errArgs()})`); break
          case 'throw': body.push(`throw ${this.thrown(v, `${at}.throw`)}`); break
          case 'rethrow': body.push('throw err'); break
          case 'ctx.app.emit': body.push("ctx.app.emit('error', err, ctx)"); break
          case 'set': this.flags = true; body.push(`flags.set(${q(v.flag)}, ${v.value ?? false})`); break
          case 'await': body.push(`await ${this.sleep()}(${v})`); break
          case 'hang': body.push('await new Promise(() => {}) // never settles'); break
          default: body.push(this.gap(`${at}: op '${k}'`))
        }
      })
    } else {
      if (a.delayMs !== undefined) body.push(`await ${this.sleep()}(${a.delayMs})`)
      if (a.set !== undefined) { this.flags = true; body.push(`flags.set(${q(a.set.flag)}, ${a.set.value ?? false})`) }
      switch (a.do ?? 'continue') {
        case 'continue': break
        case 'throw': {
          const props = {}
          const status = a.error?.statusCode ?? a.status
          if (status !== undefined) props.status = status
          if (a.error?.code !== undefined) props.code = a.error.code
          const err = `new Error(${q(a.error?.message ?? 'boom')})`
          body.push(`throw ${Object.keys(props).length ? `Object.assign(${err}, ${literal(props)})` : err}`)
          break
        }
        case 'send':
          body.push(`ctx.status = ${a.status ?? 200}`)
          if (a.headers !== undefined) body.push(`ctx.set(${literal(a.headers)})`)
          if (a.payload !== undefined) body.push(`ctx.body = ${this.body(a.payload, `${where}.payload`)}`)
          break
        case 'hang': body.push('await new Promise(() => {}) // never settles'); break
        default: body.push(this.gap(`${where}: verb '${a.do}'`))
      }
    }
    if (a.when === undefined) return body
    this.flags = true
    return [`if ((flags.get(${q(a.when.flag)}) ?? false) === ${a.when.is ?? false}) {`, ...indent(body), '}']
  }

  /** One middleware (adapter.mjs makeMiddleware). */
  middleware (m, where) {
    const mode = m.next ?? 'once'
    const nexts = mode === 'never' ? ['// next() is never called'] : mode === 'twice' ? ['await next()', 'await next()'] : ['await next()']
    const body = [...this.action(m.before, `${where}.before`)]
    if (m.catch !== undefined) {
      body.push('try {', ...indent(nexts), '} catch (err) {', ...indent(this.action(m.catch, `${where}.catch`)), '}')
    } else body.push(...nexts)
    body.push(...this.action(m.after, `${where}.after`))
    return [`app.use(async (ctx, next) => { // ${m.label}`, ...indent(body), '})']
  }
}

function program (sc) {
  const w = new Writer()
  const app = sc.app ?? {}
  const lines = []
  for (const k of Object.keys(app)) if (!['middleware', 'onError'].includes(k)) lines.push(w.gap(`$.app.${k}`))
  ;(app.middleware ?? []).forEach((m, i) => lines.push(...w.middleware(m, `$.app.middleware[${i}]`)))
  if (app.onError !== undefined) {
    const a = app.onError
    const body = a.set === undefined ? [] : [`flags.set(${q(a.set.flag)}, ${a.set.value ?? false})`]
    if (a.set !== undefined) w.flags = true
    lines.push(`app.on('error', (err, ctx) => {${body.length ? '' : '})'}`, ...(body.length ? [...indent(body), '})'] : []))
  }
  const head = ["'use strict'", "const Koa = require('koa')", '', 'const app = new Koa()', '']
  for (const code of w.helpers.values()) head.push(code, '')
  if (w.flags) head.push("const flags = new Map() // the scenario's flags (set by one callback, tested by another)", '')
  const listen = ['',
    "const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {",
    "  console.log('listening on http://127.0.0.1:' + server.address().port)",
    '})']
  return { text: [...head, ...lines, ...listen].join('\n') + '\n', gaps: w.gaps }
}

function main () {
  const sc = scenarioFromArgv()
  if (sc.dialect !== 'koa') {
    process.stdout.write(JSON.stringify({ unsupported: `dialect ${sc.dialect ?? 'fastify'}: the Koa generator writes koa scenarios only` }) + '\n')
    return
  }
  const { text, gaps } = program(sc)
  process.stdout.write(JSON.stringify(output(sc, text, gaps, ['koa'])) + '\n')
}

main()
