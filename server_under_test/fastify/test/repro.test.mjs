// Tests of repro.mjs, the program generator of `lifecheck repro FILE.json` (docs/repro.md): every
// report and seed scenario becomes a program that parses, says what it could not write, and
// builds the app with the Fastify calls the adapter would make.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'

const GENERATOR = new URL('../repro.mjs', import.meta.url).pathname
const SCENARIOS = new URL('../../../scenarios/', import.meta.url).pathname

const generate = file => JSON.parse(execFileSync(process.execPath, [GENERATOR, file], { encoding: 'utf8' }))

function scenarioFile (scenario) {
  const file = join(mkdtempSync(join(tmpdir(), 'lifecheck-repro-')), 'scenario.json')
  writeFileSync(file, JSON.stringify(scenario))
  return file
}

describe('repro.mjs', () => {
  const files = ['reports', 'fastify/seeds'].flatMap(dir =>
    readdirSync(join(SCENARIOS, dir)).filter(f => f.endsWith('.json') && !f.startsWith('koa-')).map(f => join(SCENARIOS, dir, f)))

  test('every fastify report and seed becomes a program that node can parse', () => {
    assert.ok(files.length > 30, `found ${files.length} scenario files`)
    const dir = mkdtempSync(join(tmpdir(), 'lifecheck-repro-'))
    for (const file of files) {
      const out = generate(file)
      assert.equal(out.unsupported, undefined, file)
      assert.match(out.program, /^'use strict'\nconst fastify = require\('fastify'\)\(/, file)
      const js = join(dir, 'app.js')
      writeFileSync(js, out.program)
      execFileSync(process.execPath, ['--check', js]) // throws on a syntax error
      execFileSync('sh', ['-n', '-c', out.script]) // and the commands are shell
      assert.deepEqual(out.install, ['fastify'], file)
    }
  })

  test('hooks get the arguments of their form, in the adapter\'s registration order', () => {
    const out = generate(scenarioFile({
      app: {
        hooks: { onSend: [{ do: 'continue' }, { style: 'callback', delayMs: 5, do: 'continue' }] },
        errorHandler: { do: 'rethrow' },
        routes: [{ method: 'POST', url: '/x', hooks: { preHandler: [{ do: 'throw', error: { message: 'no', statusCode: 418 } }] }, handler: { do: 'continue' } }],
        plugins: [{ name: 'child', prefix: '/v1', encapsulate: false, routes: [{ url: '/', handler: { style: 'callback', do: 'continue', payload: { kind: 'string', value: 'it\'s' } } }] }]
      },
      steps: [{ id: 'r1', request: { method: 'POST', url: '/x', body: 'hi' }, client: { abortAfterMs: 50 } }, { close: true }]
    }))
    assert.equal(out.program, `'use strict'
const fastify = require('fastify')()

fastify.addHook('onSend', async (request, reply, payload) => {})
fastify.addHook('onSend', (request, reply, payload, done) => {
  setTimeout(() => {
    done()
  }, 5)
})
fastify.setErrorHandler(async (error, request, reply) => {
  throw error
})
fastify.route({
  method: 'POST',
  url: '/x',
  preHandler: async (request, reply) => {
    throw Object.assign(new Error('no'), { statusCode: 418 })
  },
  handler: async (request, reply) => {}
})
async function child (fastify) {
  fastify.get('/', (request, reply) => {
    reply.send('it\\'s')
  })
}
child[Symbol.for('skip-override')] = true // fastify-plugin: no encapsulation, runs on the parent
fastify.register(child, { prefix: '/v1' })

fastify.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }).then(address => {
  console.log('listening on ' + address)
})
// the scenario closes the app: Ctrl-C (SIGINT) runs fastify.close() and its preClose/onClose hooks
process.once('SIGINT', () => { fastify.close().then(() => console.log('closed')) })
`)
    assert.equal(out.commands, `# r1: POST /x (the client gives up after 50 ms)
curl -sS -i -H 'content-type:' --data-binary 'hi' --max-time 0.05 'http://127.0.0.1:3000/x'
# close: press Ctrl-C where the program runs (it calls fastify.close())
`)
    assert.deepEqual(out.gaps, [])
  })

  test('onListen hooks and v2.6 sync application hooks are written as Fastify takes them', () => {
    const out = generate(scenarioFile({
      app: { hooks: { onListen: [{ style: 'sync', do: 'throw', error: { message: 'no' } }, { style: 'callback' }], onReady: [{ style: 'sync' }] } },
      steps: []
    }))
    assert.match(out.program, /fastify\.addHook\('onListen', \(\) => \{\n  throw new Error\('no'\)\n\}\)\n/)
    assert.match(out.program, /fastify\.addHook\('onListen', \(done\) => \{\n  done\(\)\n\}\)\n/)
    assert.match(out.program, /fastify\.addHook\('onReady', \(\) => \{\}\)\n/)
    assert.deepEqual(out.gaps, [])
  })

  test('server and route options (scenario-format §1.11) become Fastify options, not gaps', () => {
    const out = generate(scenarioFile({
      app: {
        options: { handlerTimeoutMs: 50, bodyLimit: 64 },
        routes: [{ url: '/', handlerTimeoutMs: 20, bodyLimit: 8, errorHandler: { do: 'rethrow' }, handler: { do: 'hang' } }]
      },
      steps: [{ id: 'r1', request: { url: '/' } }]
    }))
    assert.deepEqual(out.gaps, [])
    assert.match(out.program, /^'use strict'\nconst fastify = require\('fastify'\)\(\{ handlerTimeout: 50, bodyLimit: 64 \}\)/)
    assert.match(out.program, /fastify\.route\(\{\n  method: 'GET',\n  url: '\/',\n  handlerTimeout: 20,\n  bodyLimit: 8,\n  errorHandler: async \(error, request, reply\) => \{\n    throw error\n  \},\n  handler: /)
  })

  test('what it cannot write is listed and marked, never written wrong', () => {
    const out = generate(scenarioFile({
      app: { routes: [{ url: '/', handler: { ops: [{ bogus: 1 }] } }] },
      steps: [{ id: 'r1', connection: 'c1', request: { url: '/' }, client: { bytesPerWrite: 1, writeDelayMs: 5 } }]
    }))
    assert.match(out.program, /\/\/ not generated: \$\.app\.routes\[0\]\.handler\.ops\[0\]: op 'bogus'/)
    assert.deepEqual(out.gaps, [
      "$.app.routes[0].handler.ops[0]: op 'bogus'",
      'step r1: client.bytesPerWrite (the command writes the request at once)',
      'step r1: client.writeDelayMs (the command writes the request at once)',
      'step r1: connection "c1" (each command opens its own connection)'
    ])
  })

  test('koa scenarios are unsupported, said so', () => {
    const out = generate(scenarioFile({ dialect: 'koa', app: {}, steps: [] }))
    assert.match(out.unsupported, /^dialect koa: /)
  })
})
