#!/usr/bin/env node
// lifecheck target adapter: builds scenario apps (dialect fastify) on real Fastify and speaks the JSON-lines target protocol (scenario-format.md §3).
//
// Everything a scenario registers becomes an ordinary Fastify callback written the way a user would
// write it; the adapter adds no hooks of its own. Request ids, `end` events and abort detection come
// from the raw Node server ('request' event, genReqId, res 'close'), never from traced callbacks.
// Real Fastify crashes are NOT caught: an uncaught exception kills this process, as in production.

import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { idleSignal } from './idle.mjs'

const ADAPTER_VERSION = '0.1.0'
const require = createRequire(import.meta.url)

// ---------------------------------------------------------------------------------------------
// Installed Fastify releases (npm aliases in package.json) and version selection

/** npm alias → fastify-plugin alias that belongs to that Fastify major. */
const FASTIFY_ALIASES = ['fastify', 'fastify-5.11.0', 'fastify-5.10.0', 'fastify-5.2.1', 'fastify-5.2.0', 'fastify-4']
const PLUGIN_ALIAS_BY_MAJOR = { 4: 'fastify-plugin-4', 5: 'fastify-plugin' }

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
function installedFastifies () {
  const out = []
  for (const alias of FASTIFY_ALIASES) {
    const version = installedVersion(alias)
    if (version !== undefined) out.push({ alias, version })
  }
  return out.sort((x, y) => compareVersions(y.version, x.version))
}

/**
 * Picks the installed Fastify for a `--fastify` argument: an exact version, or a prefix of whole
 * components ("5", "5.2", "4") that selects the newest installed version starting with it.
 */
function selectFastify (wanted) {
  const all = installedFastifies()
  const exact = all.find(f => f.version === wanted)
  if (exact) return exact
  return all.find(f => f.version.startsWith(wanted + '.'))
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `usage: node adapter.mjs [--fastify VERSION | --fastify-from DIR] [--log-level LEVEL] [--help]

lifecheck target for real Fastify. Speaks the JSON-lines target protocol of
scenario-format.md §3: commands on stdin, events on stdout, logs on stderr.

  --fastify VERSION   which installed Fastify to run (default: ${'5.12.8'}).
                      An exact version, or a prefix of whole components that picks
                      the newest installed match: "5" → newest 5.x, "5.2" → newest 5.2.x,
                      "4" → the installed 4.x.
  --fastify-from DIR  run the Fastify package in folder DIR instead: a release lifecheck
                      installed into its release cache, or a local checkout
                      (lifecheck --target fastify@file:DIR; docs/releases.md).
  --log-level LEVEL   Fastify's own logger to stderr at LEVEL (fatal, error, warn,
                      info, debug, trace); default: logger off.
  --no-trace          send no cb/end events (bench/throughput.sh: Fastify without
                      the cost of tracing); a harness then sees every request hang.
  --help              print this and exit.

installed: ${installedFastifies().map(f => `${f.version} (${f.alias})`).join(', ')}

exit codes: 0 after {"cmd":"exit"} or end of stdin; 1 when Fastify (or a callback
run by it) throws an uncaught exception or refuses to start an app; 2 usage error.`

function parseArgs (argv) {
  const opts = { fastify: '5.12.8', fastifyFrom: undefined, logLevel: undefined, trace: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usageError(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n')
      process.exit(0)
    } else if (a === '--fastify') opts.fastify = value()
    else if (a.startsWith('--fastify=')) opts.fastify = a.slice('--fastify='.length)
    else if (a === '--fastify-from') opts.fastifyFrom = value()
    else if (a.startsWith('--fastify-from=')) opts.fastifyFrom = a.slice('--fastify-from='.length)
    else if (a === '--log-level') opts.logLevel = value()
    else if (a.startsWith('--log-level=')) opts.logLevel = a.slice('--log-level='.length)
    else if (a === '--no-trace') opts.trace = false
    else usageError(`unknown argument '${a}'`)
  }
  return opts
}

function usageError (msg) {
  process.stderr.write(`lifecheck-fastify: ${msg}\n\n${USAGE}\n`)
  process.exit(2)
}

const args = parseArgs(process.argv.slice(2))
/** A Fastify package folder named by --fastify-from: { alias (its absolute path), version }. */
function fastifyFrom (dir) {
  let pkg
  try { pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) } catch (err) {
    usageError(`--fastify-from ${dir}: no readable package.json (${err.code ?? err.message})`)
  }
  if (pkg.name !== 'fastify') usageError(`--fastify-from ${dir}: the package there is '${pkg.name}', not fastify`)
  return { alias: resolve(dir), version: pkg.version }
}

const selected = args.fastifyFrom !== undefined ? fastifyFrom(args.fastifyFrom) : selectFastify(args.fastify)
if (!selected) usageError(`no installed Fastify matches '${args.fastify}'`)
const Fastify = require(selected.alias)
const MAJOR = Number(selected.version.split('.')[0])
// The route methods this release routes (5.x: `supportedMethods`; later 4.x: lib/httpMethods.js;
// early 4.x: a constant in lib/route.js). route() throws at start for any other, which would end
// the adapter: a method the selected release lacks (QUERY before 5.11.0, PROPFIND after 4.x) is
// reported unsupported instead, so the scenario is skipped on that release, not a crash (issue 19,
// decisions.md D34).
function routeMethods () {
  const own = Fastify().supportedMethods
  if (own) return own
  try {
    return require(`${selected.alias}/lib/httpMethods.js`).supportedMethods
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND') throw err
  }
  const route = readFileSync(require.resolve(`${selected.alias}/lib/route.js`), 'utf8')
  const list = /const supportedMethods = \[([^\]]*)\]/.exec(route)?.[1]
  return list ? [...list.matchAll(/'([A-Z-]+)'/g)].map(m => m[1]) : ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS']
}
const ROUTE_METHODS = routeMethods()

// Web ReadableStreams and Responses as payloads: early 4.x releases do not send them (4.0.0
// serializes either as the JSON `{}`). Probed once through the selected release (inject, no
// socket); a scenario with such a payload is then unsupported on it, not a failure (issue 17).
async function probeWebPayloads () {
  const app = Fastify()
  const stream = () => new ReadableStream({ start (c) { c.enqueue(new TextEncoder().encode('ok')); c.close() } })
  app.get('/s', (req, reply) => { reply.send(stream()) })
  app.get('/r', (req, reply) => { reply.send(new Response('ok')) })
  const sent = async url => (await app.inject({ method: 'GET', url })).payload === 'ok'
  try {
    return { webStreams: await sent('/s'), responses: await sent('/r') }
  } finally {
    await app.close()
  }
}
const WEB_PAYLOADS = await probeWebPayloads()
// handlerTimeout (server and route option, scenario-format §1.11): releases before it ignore the
// option silently, so a scenario using it is unsupported there, not a different result.
const HANDLER_TIMEOUT = readFileSync(require.resolve(`${selected.alias}/lib/symbols.js`), 'utf8')
  .includes('kHandlerTimeout')
const pluginAlias = PLUGIN_ALIAS_BY_MAJOR[MAJOR] ?? 'fastify-plugin'
const fp = require(pluginAlias)

// ---------------------------------------------------------------------------------------------
// Output

function print (obj) {
  // stdout is a pipe: synchronous on Linux, so lines written before a crash are not lost.
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function log (msg) {
  process.stderr.write(`lifecheck-fastify: ${msg}\n`)
}

// An uncaught exception still kills the process (no 'uncaughtException' handler on purpose:
// scenario-format §4 I7 — a Fastify crash must show as `crash`); this only says why on stderr first.
process.on('uncaughtExceptionMonitor', (err, origin) => {
  log(`process dies (${origin}): ${err?.code ? err.code + ': ' : ''}${err?.stack ?? err}`)
})

// ---------------------------------------------------------------------------------------------
// The app description: validation (what this adapter can build) and default labels (scenario-format §2)

const REQUEST_PHASES = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization',
  'onSend', 'onResponse', 'onError', 'onTimeout', 'onRequestAbort']
const APP_PHASES = ['onReady', 'onListen', 'preClose', 'onClose', 'onRoute', 'onRegister']
// v2.6 (scenario-format §1.9): called while the app registers; Fastify does not wait for them
const REGISTRATION_PHASES = ['onRoute', 'onRegister']
const VERBS = ['continue', 'throw', 'rethrow', 'send', 'sendThenContinue', 'hang', 'replacePayload', 'hijack']
const PAYLOAD_PHASES = ['onSend', 'preSerialization'] // where replacePayload has a meaning
// scenario-format §1.9 (v2.6): a `sync` hook is a plain function without done; hooks.js's
// hookRunnerApplication (onReady, preClose) and onListenHookRunner complete it by its return.
const SYNC_PHASES = ['onReady', 'onListen', 'preClose', 'onRoute', 'onRegister']

const ACTION_KEYS = ['label', 'style', 'delayMs', 'when', 'set', 'do', 'ops', 'status', 'headers', 'payload', 'error']
// scenario-format §1.6: the ops of a v2 ACTION; the reply ones need a reply (not onRequestAbort, app hooks)
const OPS = ['code', 'header', 'headers', 'removeHeader', 'type', 'send', 'set', 'await', 'return', 'throw', 'done', 'hang', 'callNotFound', 'hijack',
  'assign', 'increment']
const REPLY_OPS = ['code', 'header', 'headers', 'removeHeader', 'type', 'send', 'return', 'callNotFound', 'hijack']
const SCOPE_KEYS = ['npmPlugins', 'decorate', 'decorateRequest', 'decorateReply', 'hooks', 'errorHandler', 'notFoundHandler', 'notFoundOptions', 'routes', 'plugins', 'late']
const NOT_FOUND_OPTION_PHASES = ['preValidation', 'preHandler'] // v2.6: setNotFoundHandler's hook options
const NPM_PLUGIN_KEYS = ['name', 'version', 'options']
const PLUGIN_KEYS = [...SCOPE_KEYS, 'name', 'prefix', 'encapsulate', 'await']
const ROOT_KEYS = [...SCOPE_KEYS, 'options']
const ROUTE_KEYS = ['method', 'url', 'handler', 'hooks', 'errorHandler', 'handlerTimeoutMs', 'bodyLimit']
const LATE_KEYS = ['hooks', 'errorHandler']
const OPTION_KEYS = ['connectionTimeoutMs', 'requestTimeoutMs', 'bodyLimit', 'return503OnClosing', 'handlerTimeoutMs']
const PAYLOAD_KEYS = {
  json: ['value'],
  string: ['value'],
  buffer: ['base64'],
  empty: [],
  stream: ['chunks', 'chunkDelayMs', 'failAfterChunks'],
  webStream: ['chunks', 'chunkDelayMs', 'failAfterChunks', 'locked'],
  response: ['status', 'headers', 'body', 'shared'],
  error: ['message', 'statusCode', 'status', 'code', 'headers', 'props'],
  undefined: [],
  read: ['of', 'object'] // v2.6 (§1.13)
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

/**
 * Where a callback sits decides which verbs make sense (scenario-format §1.2 table):
 * site = 'hook' | 'routeHook' | 'appHook' | 'handler' | 'notFound' | 'errorHandler'.
 */
function checkAction (a, site, phase, path) {
  checkKeys(a, ACTION_KEYS, path)
  if (a.ops !== undefined) return checkOps(a, site, phase, path)
  if (a.style !== undefined && a.style !== 'async' && a.style !== 'callback' &&
      !(a.style === 'sync' && site === 'appHook' && SYNC_PHASES.includes(phase))) {
    unsupported(`${path}.style: '${a.style}'`)
  }
  const verb = a.do ?? 'continue'
  if (!VERBS.includes(verb)) unsupported(`${path}.do: unknown verb '${verb}'`)
  const isHook = site === 'hook' || site === 'routeHook'
  if (REGISTRATION_PHASES.includes(phase) && (verb !== 'continue' || a.delayMs !== undefined || a.style === 'callback')) {
    unsupported(`${path}: ${phase} hooks continue at once (async or sync style, no delayMs)`)
  }
  if (site === 'appHook' && verb !== 'continue' && verb !== 'throw') {
    unsupported(`${path}: '${verb}' in application hook ${phase} (continue or throw only)`)
  }
  if (verb === 'rethrow' && site !== 'errorHandler') unsupported(`${path}: 'rethrow' outside an error handler`)
  if (verb === 'sendThenContinue' && !isHook) unsupported(`${path}: 'sendThenContinue' outside a hook`)
  if (verb === 'replacePayload' && !(isHook && PAYLOAD_PHASES.includes(phase))) {
    unsupported(`${path}: 'replacePayload' in ${phase ?? site} (only onSend/preSerialization carry a payload)`)
  }
  if (phase === 'onRequestAbort' && ['send', 'sendThenContinue', 'hijack'].includes(verb)) {
    unsupported(`${path}: '${verb}' in onRequestAbort (the hook gets no reply)`)
  }
  if (a.when !== undefined) checkKeys(a.when, ['flag', 'is'], `${path}.when`)
  if (a.set !== undefined) checkKeys(a.set, ['flag', 'value'], `${path}.set`)
  if (a.error !== undefined) checkKeys(a.error, ['message', 'statusCode', 'code'], `${path}.error`)
  if (a.headers !== undefined && !isObject(a.headers)) unsupported(`${path}.headers: expected an object`)
  if (a.delayMs !== undefined && !(typeof a.delayMs === 'number' && a.delayMs >= 0)) {
    unsupported(`${path}.delayMs: expected a number >= 0`)
  }
  if (a.payload !== undefined) {
    checkPayload(a.payload, `${path}.payload`)
    if (verb === 'hijack' && !['json', 'string', 'buffer', 'empty'].includes(a.payload.kind)) {
      unsupported(`${path}: hijack writes json/string/buffer/empty payloads only, not '${a.payload.kind}'`)
    }
  }
}

function checkOps (a, site, phase, path) {
  if (!Array.isArray(a.ops)) unsupported(`${path}.ops: expected an array`)
  const noReply = site === 'appHook' || phase === 'onRequestAbort'
  a.ops.forEach((op, i) => {
    const at = `${path}.ops[${i}]`
    if (!isObject(op) || Object.keys(op).length !== 1) unsupported(`${at}: expected an object with one key`)
    const [k, v] = Object.entries(op)[0]
    if (!OPS.includes(k)) unsupported(`${at}: unknown op '${k}'`)
    if (noReply && REPLY_OPS.includes(k)) unsupported(`${at}: '${k}' where there is no reply`)
    if (['send', 'throw', 'return'].includes(k) && isObject(v)) checkPayload(v, `${at}.${k}`)
    if (k === 'assign' && (!Array.isArray(v) || v.length !== 2)) unsupported(`${at}: assign takes [TARGET, PAYLOAD]`)
  })
}

function checkPayload (p, path) {
  if (!isObject(p)) unsupported(`${path}: expected an object`)
  const fields = PAYLOAD_KEYS[p.kind]
  if (!fields) unsupported(`${path}.kind: unknown payload kind '${p.kind}'`)
  checkKeys(p, ['kind', ...fields], path)
  if (p.kind === 'webStream' && !WEB_PAYLOADS.webStreams) {
    unsupported(`${path}: fastify ${selected.version} does not send a web ReadableStream (it serializes it as JSON)`)
  }
  if (p.kind === 'response' && !WEB_PAYLOADS.responses) {
    unsupported(`${path}: fastify ${selected.version} does not send a Response (it serializes it as JSON)`)
  }
  if (p.chunks !== undefined && !(Array.isArray(p.chunks) && p.chunks.every(c => typeof c === 'string'))) {
    unsupported(`${path}.chunks: expected an array of strings`)
  }
  if (p.kind === 'response' && p.body !== undefined && p.body !== null) {
    checkPayload(p.body, `${path}.body`)
    if (!['string', 'webStream', 'buffer', 'empty'].includes(p.body.kind)) {
      unsupported(`${path}.body: a Response body is a string or webStream payload, not '${p.body.kind}'`)
    }
  }
}

// The hooks this release knows (lib/hooks.js `supportedHooks`, in every 4.x and 5.x): addHook()
// throws FST_ERR_HOOK_NOT_SUPPORTED at start for any other, which would read as the app refused.
// A hook the selected release lacks (onRequestAbort before 4.14.0, preClose before 4.16.0,
// onListen before 4.19.0) is reported unsupported instead, so the scenario is skipped on that
// release, not a crash (issue 17, as for route methods).
function releaseHooks () {
  try {
    return require(join(dirname(require.resolve(join(selected.alias, 'package.json'))), 'lib/hooks.js')).supportedHooks
  } catch {
    return null // no such file: let addHook() decide
  }
}
const RELEASE_HOOKS = releaseHooks()

function checkHookMap (hooks, site, path, allowApp) {
  if (!isObject(hooks)) unsupported(`${path}: expected an object`)
  for (const [phase, list] of Object.entries(hooks)) {
    const isApp = APP_PHASES.includes(phase)
    if (!REQUEST_PHASES.includes(phase) && !isApp) unsupported(`${path}: unknown phase '${phase}'`)
    if (RELEASE_HOOKS && !RELEASE_HOOKS.includes(phase)) {
      unsupported(`${path}: fastify ${selected.version} has no '${phase}' hook`)
    }
    if (isApp && !allowApp) unsupported(`${path}: application hook '${phase}' at route level`)
    if (!Array.isArray(list)) unsupported(`${path}.${phase}: expected an array`)
    list.forEach((a, i) => checkAction(a, isApp ? 'appHook' : site, phase, `${path}.${phase}[${i}]`))
  }
}

function checkScope (s, path, isRoot, names) {
  checkKeys(s, isRoot ? ROOT_KEYS : PLUGIN_KEYS, path)
  if (!isRoot) {
    if (typeof s.name !== 'string' || s.name === '') unsupported(`${path}.name: a plugin needs a name`)
    if (s.prefix !== undefined && typeof s.prefix !== 'string') unsupported(`${path}.prefix: expected a string`)
  }
  const name = isRoot ? 'root' : s.name
  if (names.has(name)) unsupported(`${path}.name: scope name '${name}' used twice`)
  names.add(name)
  if (s.npmPlugins !== undefined) {
    if (!Array.isArray(s.npmPlugins)) unsupported(`${path}.npmPlugins: expected an array`)
    s.npmPlugins.forEach((p, i) => {
      const pp = `${path}.npmPlugins[${i}]`
      checkKeys(p, NPM_PLUGIN_KEYS, pp)
      if (typeof p.name !== 'string' || p.name === '') unsupported(`${pp}.name: expected a package name`)
      if (p.version !== undefined && typeof p.version !== 'string') unsupported(`${pp}.version: expected a string`)
      if (p.options !== undefined && !isObject(p.options)) unsupported(`${pp}.options: expected an object`)
    })
  }
  if (s.hooks !== undefined) checkHookMap(s.hooks, 'hook', `${path}.hooks`, true)
  if (s.errorHandler !== undefined) checkAction(s.errorHandler, 'errorHandler', undefined, `${path}.errorHandler`)
  if (s.notFoundHandler !== undefined) checkAction(s.notFoundHandler, 'notFound', undefined, `${path}.notFoundHandler`)
  if (s.notFoundOptions !== undefined) {
    if (!isObject(s.notFoundOptions)) unsupported(`${path}.notFoundOptions: expected an object`)
    const { errorHandler, ...hooks } = s.notFoundOptions
    checkHookMap(hooks, 'hook', `${path}.notFoundOptions`, false)
    for (const k of Object.keys(hooks)) {
      if (!NOT_FOUND_OPTION_PHASES.includes(k)) unsupported(`${path}.notFoundOptions: no '${k}' option`)
    }
    if (errorHandler !== undefined) checkAction(errorHandler, 'errorHandler', undefined, `${path}.notFoundOptions.errorHandler`)
    if (s.notFoundHandler === undefined) unsupported(`${path}.notFoundOptions: needs a notFoundHandler`)
  }
  if (s.routes !== undefined) {
    if (!Array.isArray(s.routes)) unsupported(`${path}.routes: expected an array`)
    s.routes.forEach((r, i) => {
      const rp = `${path}.routes[${i}]`
      checkKeys(r, ROUTE_KEYS, rp)
      if (typeof r.url !== 'string') unsupported(`${rp}.url: expected a string`)
      if (r.method !== undefined && typeof r.method !== 'string' && !Array.isArray(r.method)) {
        unsupported(`${rp}.method: expected a string`)
      }
      for (const m of [r.method ?? 'GET'].flat()) {
        if (typeof m === 'string' && !ROUTE_METHODS.includes(m.toUpperCase())) {
          unsupported(`${rp}.method: fastify ${selected.version} does not route ${m} (it routes ${ROUTE_METHODS.join(', ')})`)
        }
      }
      if (r.handler === undefined) unsupported(`${rp}.handler: missing`)
      checkAction(r.handler, 'handler', undefined, `${rp}.handler`)
      if (r.hooks !== undefined) checkHookMap(r.hooks, 'routeHook', `${rp}.hooks`, false)
      if (r.errorHandler !== undefined) checkAction(r.errorHandler, 'errorHandler', undefined, `${rp}.errorHandler`)
      if (r.handlerTimeoutMs !== undefined && !HANDLER_TIMEOUT) {
        unsupported(`${rp}.handlerTimeoutMs: fastify ${selected.version} has no handlerTimeout`)
      }
    })
  }
  if (s.late !== undefined) {
    checkKeys(s.late, LATE_KEYS, `${path}.late`)
    if (s.late.hooks !== undefined) checkHookMap(s.late.hooks, 'hook', `${path}.late.hooks`, true)
    if (s.late.errorHandler !== undefined) {
      checkAction(s.late.errorHandler, 'errorHandler', undefined, `${path}.late.errorHandler`)
    }
  }
  if (s.plugins !== undefined) {
    if (!Array.isArray(s.plugins)) unsupported(`${path}.plugins: expected an array`)
    s.plugins.forEach((p, i) => checkScope(p, `${path}.plugins[${i}]`, false, names))
  }
}

function checkApp (app) {
  if (!isObject(app)) unsupported('$.app: expected an object')
  checkScope(app, '$.app', true, new Set())
  if (app.options !== undefined) checkKeys(app.options, OPTION_KEYS, '$.app.options')
  if (app.options?.handlerTimeoutMs !== undefined && !HANDLER_TIMEOUT) {
    unsupported(`$.app.options.handlerTimeoutMs: fastify ${selected.version} has no handlerTimeout`)
  }
}

/** Default label of the i-th of n hooks of one phase (scenario-format §2, decisions.md D1). */
function hookLabel (phase, owner, i, n) {
  return n > 1 ? `${phase}@${owner}#${i}` : `${phase}@${owner}`
}

// ---------------------------------------------------------------------------------------------
// npmPlugins (scenario-format §1.1): real packages, found before Fastify builds anything

const ADAPTER_DIR = dirname(fileURLToPath(import.meta.url))

/** The app cannot be built here (scenario-format §3 `loadError`): a package missing or at another version. */
class LoadError extends Error {}

/** Where require() looks: the adapter's node_modules, then every NODE_PATH folder. */
const NODE_PATHS = (process.env.NODE_PATH ?? '').split(delimiter).filter(p => p !== '')
const LOOKUP = [ADAPTER_DIR, ...NODE_PATHS]

function isDirectory (p) {
  try { return statSync(p).isDirectory() } catch { return false }
}

/** The folder of an installed package, from the file it resolved to (aliases keep their folder name). */
function packageDir (name, file) {
  if (name.startsWith('/')) {
    if (isDirectory(name)) return name
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      try { statSync(join(dir, 'package.json')); return dir } catch {}
      if (dirname(dir) === dir) return undefined
    }
  }
  const marker = `/node_modules/${name}/`
  const at = file.lastIndexOf(marker)
  if (at >= 0) return file.slice(0, at + marker.length - 1)
  return NODE_PATHS.map(p => join(p, name)).find(isDirectory)
}

const installHint = (spec) => `install it: (cd ${ADAPTER_DIR} && npm install ${spec}), or put the folder ` +
  'that holds it on NODE_PATH, or name it by absolute path'

/** The file an `exports` field maps "." to under the import/node/default conditions. */
function exportTarget (exp) {
  if (typeof exp === 'string') return exp
  if (Array.isArray(exp)) return exp.map(exportTarget).find(t => t !== undefined)
  if (!isObject(exp)) return undefined
  if ('.' in exp) return exportTarget(exp['.'])
  for (const cond of ['import', 'node', 'default']) if (cond in exp) return exportTarget(exp[cond])
  return undefined
}

/**
 * The entry file of an npm plugin: require.resolve over LOOKUP; for a package require cannot
 * resolve (ESM only: `exports` without a require condition) the package folder's import entry.
 */
function resolvePlugin (name) {
  if (name.startsWith('/') && !existsSync(name)) {
    throw new LoadError(`npm plugin '${name}' does not exist (an absolute path names a package folder or file)`)
  }
  try {
    return { file: require.resolve(name, { paths: LOOKUP }), esm: false }
  } catch (err) {
    if (err?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && err?.code !== 'MODULE_NOT_FOUND') throw err
  }
  const dirs = name.startsWith('/') ? [name] : [join(ADAPTER_DIR, 'node_modules', name), ...NODE_PATHS.map(p => join(p, name))]
  for (const dir of dirs) {
    let pkg
    try { pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) } catch { continue }
    return { file: join(dir, exportTarget(pkg.exports) ?? pkg.main ?? 'index.js'), esm: true }
  }
  const where = `${join(ADAPTER_DIR, 'node_modules')}${NODE_PATHS.length ? ', NODE_PATH ' + NODE_PATHS.join(delimiter) : ''}`
  throw new LoadError(`npm plugin '${name}' is not installed (looked in ${where}); ${installHint(name)}`)
}

/** Same rule as --fastify: an exact version, or a prefix of whole components ("11" → 11.x). */
const versionMatches = (installed, wanted) => installed === wanted || installed.startsWith(wanted + '.')

/** Loads one npmPlugins entry: { plugin (the function to register), version (installed) }. */
async function loadNpmPlugin (entry) {
  const { file, esm } = resolvePlugin(entry.name)
  const dir = packageDir(entry.name, file)
  let version
  try { version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version } catch {}
  if (entry.version !== undefined && !(version !== undefined && versionMatches(version, entry.version))) {
    throw new LoadError(`npm plugin '${entry.name}' is installed at ${version ?? 'an unknown version'} ` +
      `(${dir}), not ${entry.version}; lifecheck does not install on demand: (cd ${ADAPTER_DIR} && ` +
      `npm install ${entry.name}@${entry.version}), or beside it under an alias (npm install ` +
      `my-alias@npm:${entry.name}@${entry.version}) and name my-alias`)
  }
  let mod
  try {
    mod = esm ? await import(pathToFileURL(file).href) : require(file)
  } catch (err) {
    if (err?.code !== 'ERR_REQUIRE_ESM') {
      throw new LoadError(`npm plugin '${entry.name}' (${file}) cannot be loaded: ${err?.code ? err.code + ': ' : ''}${err?.message ?? err}`)
    }
    mod = await import(pathToFileURL(file).href)
  }
  // CommonJS plugins export the function (and often `.default` too); ESM ones export default.
  const plugin = typeof mod === 'function' ? mod : mod?.default
  if (typeof plugin !== 'function') {
    throw new LoadError(`npm plugin '${entry.name}' (${file}) exports no plugin function`)
  }
  return { plugin, version }
}

/** Every npmPlugins entry of the app (tree order), loaded: Map entry → { plugin, version }. */
async function loadNpmPlugins (scope, out = new Map()) {
  for (const entry of scope.npmPlugins ?? []) out.set(entry, await loadNpmPlugin(entry))
  for (const child of scope.plugins ?? []) await loadNpmPlugins(child, out)
  return out
}

// ---------------------------------------------------------------------------------------------
// One loaded app: flags, shared Responses, request records, event output

const kLive = Symbol('lifecheck.liveRequests') // socket → records of requests in flight on it
const kPeerClosed = Symbol('lifecheck.peerClosed') // socket: the client sent FIN or reset
const PEER_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

class AppContext {
  constructor (npm = new Map()) {
    this.npm = npm // npmPlugins entry → { plugin, version } (loadNpmPlugins)
    this.flags = new Map() // scenario-format §1.2 `set`/`when`; reset per load
    this.shared = new Map() // scenario-format §1.3 `shared`: name → the one Response instance
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

  emit (obj) { // cb and end events
    idle.output()
    if (!this.muted && args.trace) print(obj)
  }

  cb (req, label, phase, scope) {
    if (!args.trace) return // --no-trace
    this.emit({ t: 'cb', req, label, phase, scope })
  }

  whenHolds (a) {
    if (a.when === undefined) return true
    return (this.flags.get(a.when.flag) ?? false) === (a.when.is ?? false)
  }

  applySet (a) {
    if (a.set !== undefined) this.flags.set(a.set.flag, a.set.value ?? false)
  }

  record (request) {
    return request?.raw ? this.requests.get(request.raw) : undefined
  }

  /** genReqId: the id chosen when Node emitted 'request' (header x-lifecheck-req, else auto-N). */
  idOf (raw) {
    return this.requests.get(raw)?.id ?? this.newId(raw)
  }

  newId (raw) {
    const h = raw.headers['x-lifecheck-req']
    return typeof h === 'string' && h !== '' ? h : `auto-${++this.autoId}`
  }

  /**
   * Watches every request Node hands to the server, before Fastify sees it (also 404s, bad URLs and
   * 503-while-closing), and reports `end` when `res` closes (scenario-format §3; never from onResponse).
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
        // finished; Fastify destroying the socket (stream failing midway, connectionTimeout) is not.
        const aborted = !res.writableFinished && !rec.serverCut && sock[kPeerClosed] === true
        this.emit({ t: 'end', req: rec.id, status: res.statusCode, aborted })
        if (this.live.size === 0) for (const f of this.onDrain.splice(0)) f()
      })
    })
    // Node's request timeouts end in clientError (Fastify answers 408 and destroys the socket).
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
    // connectionTimeout: Node destroys the socket; that is the server's cut, not the client's.
    sock.on('timeout', () => this.cutAll(sock))
  }

  cutAll (sock) {
    for (const rec of sock[kLive]) rec.serverCut = true
  }
}

// ---------------------------------------------------------------------------------------------
// PAYLOAD (scenario-format §1.3)

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// v2.6 (scenario-format §3.1, decisions.md D57): the idle signal (idle.mjs); app timers count.
const idle = idleSignal({ print, busy: () => (current?.ctx.live.size ?? 0) > 0 })
const { appTimeout, appSleep } = idle

/** Plans the events of a stream payload: `total` chunks, then the end or the failure. */
function streamPlan (p) {
  const chunks = p.chunks ?? []
  const fails = p.failAfterChunks !== undefined
  const total = fails ? Math.min(p.failAfterChunks, chunks.length) : chunks.length
  return { chunks, fails, total, delay: p.chunkDelayMs ?? 0 }
}

/** A Node Readable: first chunk at once, then `chunkDelayMs` before every later event. */
function nodeStream (p, rec) {
  const plan = streamPlan(p)
  let k = 0
  let started = false
  const stream = new Readable({
    read () {
      if (started) return
      started = true
      const step = () => {
        if (stream.destroyed) return // Fastify destroys the source when the response closes
        if (k < plan.total) {
          stream.push(Buffer.from(plan.chunks[k++]))
          appTimeout(step, plan.delay)
        } else if (plan.fails) {
          if (rec) rec.serverCut = true // mark before Fastify reacts by destroying the socket
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

/** A WHATWG ReadableStream with the same event plan; produces only when read. */
function webStream (p, rec) {
  const plan = streamPlan(p)
  const encoder = new TextEncoder()
  let k = 0
  return new ReadableStream({
    async pull (controller) {
      const i = k++
      if (i > 0) await appSleep(plan.delay)
      try {
        if (i < plan.total) controller.enqueue(encoder.encode(plan.chunks[i]))
        else if (plan.fails) {
          if (rec) rec.serverCut = true
          controller.error(new Error('stream failed'))
        } else controller.close()
      } catch {
        // cancelled meanwhile (the response closed): nothing more to produce
      }
    }
  }, { highWaterMark: 0 })
}

function makeResponse (p, rec) {
  let body = null
  let lockBody = false
  const b = p.body
  if (b != null) {
    if (b.kind === 'string') body = b.value ?? ''
    else if (b.kind === 'buffer') body = Buffer.from(b.base64 ?? '', 'base64')
    else if (b.kind === 'webStream') {
      body = webStream(b, rec)
      lockBody = b.locked === true
    }
  }
  const response = new Response(body, { status: p.status ?? 200, headers: p.headers ?? {} })
  // scenario-format §1.3: a locked body = response.body.getReader() after construction
  if (lockBody) response.body.getReader()
  return response
}

/** The JS value a PAYLOAD stands for; undefined for no payload or `empty`. `env` is the
 * calling function's { self (its `this`), request, reply }: what a `read` PAYLOAD reads. */
function materialize (ctx, p, request, env) {
  if (p === undefined) return undefined
  const rec = ctx.record(request)
  switch (p.kind) {
    case 'json': {
      // A string value stays a JS string: Fastify sends it as already-serialized text.
      const v = 'value' in p ? p.value : null
      return v !== null && typeof v === 'object' ? structuredClone(v) : v
    }
    case 'string': return p.value ?? ''
    case 'buffer': return Buffer.from(p.base64 ?? '', 'base64')
    case 'empty': return undefined
    case 'stream': return nodeStream(p, rec)
    case 'webStream': {
      const s = webStream(p, rec)
      if (p.locked === true) s.getReader()
      return s
    }
    case 'response': {
      if (p.shared === undefined) return makeResponse(p, rec)
      if (!ctx.shared.has(p.shared)) ctx.shared.set(p.shared, makeResponse(p, rec))
      return ctx.shared.get(p.shared)
    }
    case 'error': return errorValue(p)
    case 'undefined': return undefined
    case 'read': return readPayload(p, env)
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// v2.6 (scenario-format §1.13): request data, decorations and state across callbacks

/** The object a REF starts from and the property it names: ['request', 'query', 'a'] etc. */
function refParts (ref, env) {
  const [root, name, ...rest] = ref.split('.')
  const obj = root === 'request' ? env.request : root === 'reply' ? env.reply : env.self
  return { obj, name, key: rest.length ? rest.join('.') : undefined }
}

/** request.body, request.query.a, request.routeOptions.url, this.foo ... as user code reads them. */
function readRef (ref, env) {
  const { obj, name, key } = refParts(ref, env)
  const v = obj[name]
  return key === undefined ? v : v[key]
}

function readPayload (p, env) {
  if (p.of !== undefined) return readRef(p.of, env)
  const out = {}
  for (const [k, ref] of Object.entries(p.object)) out[k] = readRef(ref, env)
  return out
}

/** `assign` ([TARGET, value]) and `increment` (TARGET): request.body = v, this.foo++ ... */
function stateOp (ctx, k, v, env) {
  if (k === 'assign') {
    const { obj, name } = refParts(v[0], env)
    obj[name] = materialize(ctx, v[1], env.request, env)
  } else {
    const { obj, name } = refParts(v, env)
    obj[name]++
  }
}

/** An `error` PAYLOAD (scenario-format §1.6): new Error(message ?? "boom") with its own properties. */
function errorValue (p) {
  const err = new Error(p.message ?? 'boom')
  if (p.statusCode !== undefined) err.statusCode = p.statusCode
  if (p.status !== undefined) err.status = p.status
  if (p.code !== undefined) err.code = p.code
  if (p.headers !== undefined) err.headers = { ...p.headers }
  if (p.props !== undefined) Object.assign(err, structuredClone(p.props))
  return err
}

// ---------------------------------------------------------------------------------------------
// v2 ops (scenario-format §1.6): the operations of one callback, in order

/** Performs the reply operations, `set`, `assign` and `increment`; true when `op` was one of them. */
function replyOp (ctx, k, v, request, reply, env) {
  switch (k) {
    case 'code': reply.code(v); return true
    case 'header': reply.header(v[0], v[1]); return true
    case 'headers': reply.headers(v); return true
    case 'removeHeader': reply.removeHeader(v); return true
    case 'type': reply.type(v); return true
    case 'send':
      if (v === null) reply.send()
      else reply.send(materialize(ctx, v, request, env))
      return true
    case 'set': ctx.applySet({ set: v }); return true
    case 'callNotFound': reply.callNotFound(); return true // v2.6
    case 'hijack': reply.hijack(); return true // v2.6
    case 'assign':
    case 'increment': stateOp(ctx, k, v, env); return true
  }
  return false
}

/**
 * A callback-style function's body from op `i`: ops after an `await` run from a timer; `done`
 * calls the hook's done; `return` gives the function's (synchronous) return value.
 */
function runOpsSync (ctx, ops, i, request, reply, done, env) {
  for (; i < ops.length; i++) {
    const [k, v] = Object.entries(ops[i])[0]
    if (replyOp(ctx, k, v, request, reply, env)) continue
    switch (k) {
      case 'await': {
        const next = i + 1
        appTimeout(() => runOpsSync(ctx, ops, next, request, reply, done, env), v)
        return undefined
      }
      case 'return': return v === 'reply' ? reply : materialize(ctx, v, request, env)
      case 'throw': throw materialize(ctx, v, request, env)
      case 'done':
        if (v === null) done()
        else if ('error' in v) done(materialize(ctx, v.error, request, env))
        else done(null, materialize(ctx, v.payload, request, env))
        break
      case 'hang': return undefined
    }
  }
  return undefined
}

/**
 * The user function of an ACTION with ops. `args` maps the function's arguments to
 * (request, reply, done): hooks by phase, handlers (request, reply), error handlers
 * (error, request, reply), application hooks (none, or the instance).
 */
function makeOpsFunction (ctx, a, label, phase, scope, arity, args) {
  const ops = a.ops
  let fn
  if ((a.style ?? 'async') === 'async') {
    fn = async function (...argv) {
      const { request, reply } = args(argv)
      ctx.cb(request?.id ?? 'app', label, phase, scope)
      if (!ctx.whenHolds(a)) return undefined
      const env = { self: this, request, reply }
      // The ops run in this function's own body: user code is one async function, and a helper's
      // promise returned from here would settle two microtasks later.
      for (const op of ops) {
        const [k, v] = Object.entries(op)[0]
        if (replyOp(ctx, k, v, request, reply, env)) continue
        switch (k) {
          case 'await': await appSleep(v); break
          case 'return': return v === 'reply' ? reply : materialize(ctx, v, request, env)
          case 'throw': throw materialize(ctx, v, request, env)
          case 'hang': return new Promise(() => {})
        }
      }
      return undefined
    }
  } else {
    fn = function (...argv) {
      const { request, reply, done } = args(argv)
      ctx.cb(request?.id ?? 'app', label, phase, scope)
      if (!ctx.whenHolds(a)) { if (done) done(); return undefined }
      return runOpsSync(ctx, ops, 0, request, reply, done, { self: this, request, reply })
    }
  }
  return arity === undefined ? fn : withArity(fn, arity)
}

// ---------------------------------------------------------------------------------------------
// ACTION → the user callback Fastify gets (scenario-format §1.2)

/** new Error(message ?? "boom") with statusCode = error.statusCode ?? status, and code. */
function makeError (a) {
  const err = new Error(a.error?.message ?? 'boom')
  const statusCode = a.error?.statusCode ?? a.status
  if (statusCode !== undefined) err.statusCode = statusCode
  if (a.error?.code !== undefined) err.code = a.error.code
  return err
}

/** reply.code(status ?? 200).headers(headers).send(payload) */
function doSend (ctx, a, request, reply) {
  reply.code(a.status ?? 200).headers(a.headers ?? {}).send(materialize(ctx, a.payload, request))
}

/** reply.hijack(), then raw.writeHead(status ?? 200, headers) and raw.end(bytes); no content-type added. */
function doHijack (ctx, a, request, reply) {
  reply.hijack()
  reply.raw.writeHead(a.status ?? 200, a.headers ?? {})
  const v = materialize(ctx, a.payload, request)
  if (v === undefined) reply.raw.end()
  else if (typeof v === 'string' || Buffer.isBuffer(v)) reply.raw.end(v)
  else reply.raw.end(JSON.stringify(v))
}

/** Fastify checks an async hook's declared parameters (fastify.js addHook); give it the right count. */
function withArity (fn, n) {
  Object.defineProperty(fn, 'length', { value: n })
  return fn
}

/** Declared parameters of the async and the callback form of a hook (fastify-lifecycle §2.2, §3.4). */
const ASYNC_ARITY = {
  onRequest: 2, preValidation: 2, preHandler: 2, onResponse: 2, onTimeout: 2,
  preParsing: 3, preSerialization: 3, onSend: 3, onError: 3,
  onRequestAbort: 1, onReady: 0, onListen: 0, preClose: 0, onClose: 1, onRoute: 1, onRegister: 2
}
const CALLBACK_ARITY = {
  onRequest: 3, preValidation: 3, preHandler: 3, onResponse: 3, onTimeout: 3,
  preParsing: 4, preSerialization: 4, onSend: 4, onError: 4,
  onRequestAbort: 2, onReady: 1, onListen: 1, preClose: 1, onClose: 2, onRoute: 2, onRegister: 3
}

/**
 * A request hook. The callback is traced when it starts; then `when`, `delayMs`, `set`, `do`.
 * Arguments by phase: (request) for onRequestAbort; (request, reply, payload|error) otherwise.
 */
function makeRequestHook (ctx, phase, a, label, scope) {
  if (a.ops !== undefined) {
    const async = (a.style ?? 'async') === 'async'
    const arity = async ? ASYNC_ARITY[phase] : CALLBACK_ARITY[phase]
    const reply = phase === 'onRequestAbort' ? () => undefined : argv => argv[1]
    return makeOpsFunction(ctx, a, label, phase, scope, arity,
      argv => ({ request: argv[0], reply: reply(argv), done: async ? undefined : argv[arity - 1] }))
  }
  const verb = a.do ?? 'continue'
  const hasDelay = a.delayMs !== undefined
  if ((a.style ?? 'async') === 'async') {
    const hook = async function (request, reply) {
      ctx.cb(request.id, label, phase, scope)
      if (!ctx.whenHolds(a)) return undefined
      if (hasDelay) await appSleep(a.delayMs)
      ctx.applySet(a)
      switch (verb) {
        case 'continue': return undefined
        case 'throw': throw makeError(a)
        case 'send': doSend(ctx, a, request, reply); return reply
        case 'sendThenContinue': doSend(ctx, a, request, reply); return undefined
        case 'hang': return new Promise(() => {})
        case 'replacePayload': return materialize(ctx, a.payload, request)
        case 'hijack': doHijack(ctx, a, request, reply); return undefined
      }
      return undefined
    }
    return withArity(hook, ASYNC_ARITY[phase])
  }
  const donePos = CALLBACK_ARITY[phase] - 1
  // `done` is the last declared parameter: 4th for payload/error phases, 2nd for onRequestAbort
  // (whose second argument is therefore not a reply; no verb that needs one is allowed there).
  const hook = function (request, reply) {
    const done = arguments[donePos]
    ctx.cb(request.id, label, phase, scope)
    if (!ctx.whenHolds(a)) { done(); return }
    if (verb === 'throw' && !hasDelay) {
      ctx.applySet(a)
      throw makeError(a) // synchronous throw: the hook runner's try/catch takes it
    }
    const act = () => {
      ctx.applySet(a)
      switch (verb) {
        case 'continue': done(); break
        case 'throw': done(makeError(a)); break
        case 'send': doSend(ctx, a, request, reply); break // stop: done is never called
        case 'sendThenContinue': doSend(ctx, a, request, reply); done(); break
        case 'hang': break
        case 'replacePayload': done(null, materialize(ctx, a.payload, request)); break
        case 'hijack': doHijack(ctx, a, request, reply); done(); break
      }
    }
    // scenario-format §1.3: with delayMs, done/send come from a timer (this is what can crash Fastify, §2.7)
    if (hasDelay) appTimeout(act, a.delayMs)
    else act()
  }
  return withArity(hook, CALLBACK_ARITY[phase])
}

/** onReady / preClose (no arguments) and onClose (instance): traced with request id "app". */
function makeAppHook (ctx, phase, a, label, scope) {
  if (a.ops !== undefined) {
    const async = (a.style ?? 'async') === 'async'
    const arity = async ? ASYNC_ARITY[phase] : CALLBACK_ARITY[phase]
    return makeOpsFunction(ctx, a, label, phase, scope, arity,
      argv => ({ request: undefined, reply: undefined, done: async ? undefined : argv[arity - 1] }))
  }
  const verb = a.do ?? 'continue'
  const hasDelay = a.delayMs !== undefined
  // onRoute(routeOptions) / onRegister(instance, opts): Fastify ignores what they return, so
  // an async one is the same plain call (its set happens before any await)
  if (a.style === 'sync' || REGISTRATION_PHASES.includes(phase)) return makeSyncAppHook(ctx, phase, a, label, scope)
  if ((a.style ?? 'async') === 'async') {
    const hook = async function () {
      ctx.cb('app', label, phase, scope)
      if (!ctx.whenHolds(a)) return undefined
      if (hasDelay) await appSleep(a.delayMs)
      ctx.applySet(a)
      if (verb === 'throw') throw makeError(a)
      return undefined // a truthy value would count as an error (fastify-lifecycle §3.4)
    }
    return withArity(hook, ASYNC_ARITY[phase])
  }
  const donePos = CALLBACK_ARITY[phase] - 1
  const hook = function () {
    const done = arguments[donePos]
    ctx.cb('app', label, phase, scope)
    if (!ctx.whenHolds(a)) { done(); return }
    if (verb === 'throw' && !hasDelay) {
      ctx.applySet(a)
      throw makeError(a)
    }
    const act = () => {
      ctx.applySet(a)
      if (verb === 'throw') done(makeError(a))
      else done()
    }
    if (hasDelay) appTimeout(act, a.delayMs)
    else act()
  }
  return withArity(hook, CALLBACK_ARITY[phase])
}

/**
 * v2.6 `sync` (scenario-format §1.9): a plain function of no parameters that returns nothing or
 * throws; hooks.js calls done itself with what it threw (no delayMs: the loader refuses it).
 */
function makeSyncAppHook (ctx, phase, a, label, scope) {
  return function () {
    ctx.cb('app', label, phase, scope)
    if (!ctx.whenHolds(a)) return
    ctx.applySet(a)
    if ((a.do ?? 'continue') === 'throw') throw makeError(a)
  }
}

/**
 * A route handler or not-found handler (request, reply). Async: returns the payload / throws /
 * returns reply after a send. Callback: answers with reply.send; returns undefined.
 */
function makeHandler (ctx, phase, a, label, scope) {
  if (a.ops !== undefined) {
    return makeOpsFunction(ctx, a, label, phase, scope, undefined,
      argv => ({ request: argv[0], reply: argv[1] }))
  }
  const verb = a.do ?? 'continue'
  const hasDelay = a.delayMs !== undefined
  if ((a.style ?? 'async') === 'async') {
    return async function handler (request, reply) {
      ctx.cb(request.id, label, phase, scope)
      if (!ctx.whenHolds(a)) return undefined
      if (hasDelay) await appSleep(a.delayMs)
      ctx.applySet(a)
      switch (verb) {
        case 'continue': return materialize(ctx, a.payload, request)
        case 'throw': throw makeError(a)
        case 'send': doSend(ctx, a, request, reply); return reply
        case 'hang': return new Promise(() => {})
        case 'hijack': doHijack(ctx, a, request, reply); return undefined
      }
      return undefined
    }
  }
  return function handler (request, reply) {
    ctx.cb(request.id, label, phase, scope)
    if (!ctx.whenHolds(a)) return // returns without answering
    if (verb === 'throw' && !hasDelay) {
      ctx.applySet(a)
      throw makeError(a)
    }
    const act = () => {
      ctx.applySet(a)
      switch (verb) {
        case 'continue': reply.send(materialize(ctx, a.payload, request)); break
        case 'throw': reply.send(makeError(a)); break
        case 'send': doSend(ctx, a, request, reply); break
        case 'hang': break
        case 'hijack': doHijack(ctx, a, request, reply); break
      }
    }
    if (hasDelay) appTimeout(act, a.delayMs)
    else act()
  }
}

/** An error handler (error, request, reply). `continue` returns the payload; `rethrow` throws `error`. */
function makeErrorHandler (ctx, a, label, scope) {
  if (a.ops !== undefined) {
    return makeOpsFunction(ctx, a, label, 'errorHandler', scope, undefined,
      argv => ({ request: argv[1], reply: argv[2] }))
  }
  const verb = a.do ?? 'continue'
  const hasDelay = a.delayMs !== undefined
  const phase = 'errorHandler'
  if ((a.style ?? 'async') === 'async') {
    return async function errorHandler (error, request, reply) {
      ctx.cb(request.id, label, phase, scope)
      if (!ctx.whenHolds(a)) return undefined
      if (hasDelay) await appSleep(a.delayMs)
      ctx.applySet(a)
      switch (verb) {
        case 'continue': return materialize(ctx, a.payload, request)
        case 'throw': throw makeError(a)
        case 'rethrow': throw error
        case 'send': doSend(ctx, a, request, reply); return reply
        case 'hang': return new Promise(() => {})
        case 'hijack': doHijack(ctx, a, request, reply); return undefined
      }
      return undefined
    }
  }
  return function errorHandler (error, request, reply) {
    ctx.cb(request.id, label, phase, scope)
    if (!ctx.whenHolds(a)) return undefined // returns without answering
    if (!hasDelay) {
      ctx.applySet(a)
      switch (verb) {
        case 'continue': return materialize(ctx, a.payload, request) // handleError sends it
        case 'throw': throw makeError(a)
        case 'rethrow': throw error
        case 'send': doSend(ctx, a, request, reply); return undefined
        case 'hijack': doHijack(ctx, a, request, reply); return undefined
      }
      return undefined // hang
    }
    appTimeout(() => {
      ctx.applySet(a)
      switch (verb) {
        case 'continue': reply.send(materialize(ctx, a.payload, request)); break
        case 'throw': reply.send(makeError(a)); break
        case 'rethrow': reply.send(error); break
        case 'send': doSend(ctx, a, request, reply); break
        case 'hijack': doHijack(ctx, a, request, reply); break
      }
    }, a.delayMs)
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Scopes (scenario-format §1.1): npmPlugins → hooks → setErrorHandler → setNotFoundHandler → routes →
// register → late

/** Labels of every hook of a scope, per phase, counting `hooks` then `late.hooks` (decisions.md D1). */
function scopeHookLabels (s, name) {
  const labels = new Map() // action object → label
  const phases = new Set([...Object.keys(s.hooks ?? {}), ...Object.keys(s.late?.hooks ?? {})])
  for (const phase of phases) {
    const all = [...(s.hooks?.[phase] ?? []), ...(s.late?.hooks?.[phase] ?? [])]
    all.forEach((a, i) => labels.set(a, a.label ?? hookLabel(phase, name, i, all.length)))
  }
  return labels
}

function addHooks (ctx, instance, hooks, name, labels) {
  for (const [phase, list] of Object.entries(hooks ?? {})) {
    for (const a of list) {
      const label = labels.get(a)
      const fn = APP_PHASES.includes(phase)
        ? makeAppHook(ctx, phase, a, label, name)
        : makeRequestHook(ctx, phase, a, label, name)
      instance.addHook(phase, fn)
    }
  }
}

function setErrorHandler (ctx, instance, a, name) {
  instance.setErrorHandler(makeErrorHandler(ctx, a, a.label ?? `errorHandler@${name}`, name))
}

function addRoute (ctx, instance, r, name) {
  const options = {
    method: r.method ?? 'GET',
    url: r.url,
    handler: makeHandler(ctx, 'handler', r.handler, r.handler.label ?? 'handler', name)
  }
  // Route-level hooks run after every scope hook of the same phase (fastify-lifecycle §3.1).
  for (const [phase, list] of Object.entries(r.hooks ?? {})) {
    options[phase] = list.map((a, i) =>
      makeRequestHook(ctx, phase, a, a.label ?? hookLabel(phase, 'route', i, list.length), name))
  }
  // v2.6 route options (scenario-format §1.11)
  if (r.errorHandler !== undefined) {
    options.errorHandler = makeErrorHandler(ctx, r.errorHandler, r.errorHandler.label ?? 'errorHandler@route', name)
  }
  if (r.handlerTimeoutMs !== undefined) options.handlerTimeout = r.handlerTimeoutMs
  if (r.bodyLimit !== undefined) options.bodyLimit = r.bodyLimit
  instance.route(options)
}

async function buildScope (ctx, instance, s, name) {
  // scenario-format §1.1 step 0: npm plugins first, awaited, so their hooks come before the scope's.
  for (const entry of s.npmPlugins ?? []) await instance.register(ctx.npm.get(entry).plugin, entry.options ?? {})
  // v2.6 (§1.13): decorations before anything else the scope registers
  for (const [k, v] of Object.entries(s.decorate ?? {})) instance.decorate(k, v)
  for (const [k, v] of Object.entries(s.decorateRequest ?? {})) instance.decorateRequest(k, v)
  for (const [k, v] of Object.entries(s.decorateReply ?? {})) instance.decorateReply(k, v)
  const labels = scopeHookLabels(s, name)
  addHooks(ctx, instance, s.hooks, name, labels)
  if (s.errorHandler !== undefined) setErrorHandler(ctx, instance, s.errorHandler, name)
  if (s.notFoundHandler !== undefined) {
    const a = s.notFoundHandler
    // v2.6: setNotFoundHandler({ preValidation, preHandler }, handler), hooks traced PHASE@notFound@SCOPE
    const { errorHandler, ...hooks } = s.notFoundOptions ?? {}
    const opts = {}
    for (const [phase, list] of Object.entries(hooks)) {
      opts[phase] = list.map((h, i) =>
        makeRequestHook(ctx, phase, h, h.label ?? hookLabel(phase, `notFound@${name}`, i, list.length), name))
    }
    if (errorHandler !== undefined) {
      opts.errorHandler = makeErrorHandler(ctx, errorHandler, errorHandler.label ?? `errorHandler@notFound@${name}`, name)
    }
    instance.setNotFoundHandler(opts, makeHandler(ctx, 'notFound', a, a.label ?? `notFound@${name}`, name))
  }
  for (const r of s.routes ?? []) addRoute(ctx, instance, r, name)
  for (const p of s.plugins ?? []) {
    const body = async function (child) { await buildScope(ctx, child, p, p.name) }
    Object.defineProperty(body, 'name', { value: p.name })
    // encapsulate: false → fastify-plugin: runs on the parent; Fastify ignores its prefix.
    const plugin = p.encapsulate === false
      ? fp(body, { name: `lifecheck-${p.name}`, fastify: `${MAJOR}.x` })
      : body
    const opts = p.prefix !== undefined ? { prefix: p.prefix } : {}
    if (p.await === true) await instance.register(plugin, opts)
    else instance.register(plugin, opts)
  }
  // `late`: addHook / setErrorHandler written after the register() calls.
  addHooks(ctx, instance, s.late?.hooks, name, labels)
  if (s.late?.errorHandler !== undefined) setErrorHandler(ctx, instance, s.late.errorHandler, name)
}

function fastifyOptions (ctx, options = {}) {
  const o = {
    logger: args.logLevel ? { level: args.logLevel, stream: process.stderr } : false,
    requestIdHeader: false,
    genReqId: (raw) => ctx.idOf(raw)
  }
  if (options.connectionTimeoutMs !== undefined) o.connectionTimeout = options.connectionTimeoutMs
  if (options.requestTimeoutMs !== undefined) o.requestTimeout = options.requestTimeoutMs
  if (options.bodyLimit !== undefined) o.bodyLimit = options.bodyLimit
  if (options.return503OnClosing !== undefined) o.return503OnClosing = options.return503OnClosing
  if (options.handlerTimeoutMs !== undefined) o.handlerTimeout = options.handlerTimeoutMs
  return o
}

// ---------------------------------------------------------------------------------------------
// load / close / exit

let current = null // { app, ctx, closing: Promise | null, closed: bool }

/** Starts app.close() once; resolves with undefined or the error close() rejected with. */
function startClose (c) {
  if (!c.closing) {
    // close() can resolve before Node delivers the res 'close' of a connection it cut; wait for
    // those `end` lines (briefly) so they come before `closed` and before an exit.
    const drained = v => c.ctx.drained(200).then(() => v)
    c.closing = c.app.close().then(() => drained(undefined), (err) => drained(err))
  }
  return c.closing
}

/** Destroys every connection of an app whose close() waits for hanging requests. */
function force (c) {
  try { c.app.server.closeAllConnections() } catch { /* not listening */ }
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
  if (dialect !== 'fastify') {
    print({ t: 'unsupported', what: `dialect ${dialect}` })
    return
  }
  try {
    checkApp(cmd.app ?? {})
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err
    print({ t: 'unsupported', what: err.message })
    return
  }
  const appDesc = cmd.app ?? {}
  let npm
  try {
    npm = await loadNpmPlugins(appDesc)
  } catch (err) {
    if (!(err instanceof LoadError)) throw err
    print({ t: 'loadError', what: err.message })
    return
  }
  const ctx = new AppContext(npm)
  const app = Fastify(fastifyOptions(ctx, appDesc.options))
  ctx.track(app.server)
  current = { app, ctx, closing: null, closed: false }
  try {
    await buildScope(ctx, app, appDesc, 'root')
    await app.listen({ port: 0, host: '127.0.0.1' })
  } catch (err) {
    // scenario-format §3 `startupError` (v2.5): Fastify refused the app (a registration-time error
    // or ready()/listen() rejecting). The target stays up; the harness judges it against the
    // scenario's `startup` expectation, and reports it with this stderr line when not expected.
    log(`Fastify refused to start the app: ${err?.code ? err.code + ': ' : ''}${err?.stack ?? err}`)
    const refused = { t: 'startupError', message: String(err?.message ?? err) }
    if (typeof err?.code === 'string') refused.code = err.code
    print(refused)
    const failed = current
    current = null
    await retire(failed, { mute: true })
    return
  }
  const ready = { t: 'ready', port: app.server.address().port }
  if (npm.size > 0) ready.npmPlugins = [...npm].map(([entry, p]) => ({ name: entry.name, version: p.version }))
  print(ready)
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
  log(`Fastify refused to start the app: ${err?.code ? err.code + ': ' : ''}${err?.stack ?? err}`)
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
  target: 'fastify',
  version: selected.version,
  dialects: ['fastify'],
  features: ['streams', 'webStreams', 'responses', 'aborts', 'timeouts', 'hijack', 'npmPlugins', 'idle']
    .filter(f => WEB_PAYLOADS[f] ?? true),
  adapter: ADAPTER_VERSION,
  node: process.version,
  fastifyPlugin: installedVersion(pluginAlias)
})

const input = createInterface({ input: process.stdin, crlfDelay: Infinity })
input.on('line', handleLine)
input.on('close', () => {
  // The harness went away: finish what was asked, without waiting for hanging requests.
  if (current?.closing && !current.closed) force(current)
  queue.then(() => process.exit(0))
})
