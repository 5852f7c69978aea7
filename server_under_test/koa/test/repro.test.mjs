// Tests of repro.mjs, the Koa program generator of `lifecheck repro FILE.json` (docs/repro.md):
// every koa scenario becomes a program that parses, and a generated program runs on real Koa.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'

const GENERATOR = new URL('../repro.mjs', import.meta.url).pathname
const SCENARIOS = new URL('../../../scenarios/', import.meta.url).pathname
const KOA = new URL('../node_modules/koa', import.meta.url).pathname

const generate = file => JSON.parse(execFileSync(process.execPath, [GENERATOR, file], { encoding: 'utf8' }))

function jsonFiles (dir) {
  return readdirSync(dir).flatMap(f => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? jsonFiles(p) : f.endsWith('.json') ? [p] : []
  })
}

describe('koa repro.mjs', () => {
  test('every koa scenario becomes a program that node can parse; only keep-alive is left out', () => {
    const files = [...jsonFiles(join(SCENARIOS, 'koa')), join(SCENARIOS, 'reports/koa-1602-transfer-encoding-no-content-length.json')]
    assert.ok(files.length > 50, `found ${files.length} scenario files`)
    const dir = mkdtempSync(join(tmpdir(), 'lifecheck-repro-'))
    for (const file of files) {
      const out = generate(file)
      assert.match(out.program, /^'use strict'\nconst Koa = require\('koa'\)\n/, file)
      writeFileSync(join(dir, 'app.js'), out.program)
      execFileSync(process.execPath, ['--check', join(dir, 'app.js')])
      for (const gap of out.gaps) assert.match(gap, /connection "c1"/, file)
      assert.deepEqual(out.install, ['koa'])
    }
  })

  test('koa#1602 as a program, run on the installed Koa: chunked, no content-length', async () => {
    const out = generate(join(SCENARIOS, 'reports/koa-1602-transfer-encoding-no-content-length.json'))
    assert.equal(out.program, `'use strict'
const Koa = require('koa')

const app = new Koa()

app.use(async (ctx, next) => { // app
  ctx.status = 200
  ctx.set({ 'transfer-encoding': 'chunked' })
  ctx.body = 'hello'
  // next() is never called
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log('listening on http://127.0.0.1:' + server.address().port)
})
`)
    const dir = mkdtempSync(join(tmpdir(), 'lifecheck-repro-'))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(KOA, join(dir, 'node_modules', 'koa')) // what `npm i koa` makes
    writeFileSync(join(dir, 'app.js'), out.program)
    const child = spawn(process.execPath, [join(dir, 'app.js')], { env: { ...process.env, PORT: '0' } })
    try {
      const port = await new Promise((resolve, reject) => {
        child.stdout.on('data', d => { const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(String(d)); if (m) resolve(Number(m[1])) })
        child.on('exit', code => reject(new Error(`the program exited (${code})`)))
      })
      const res = await new Promise((resolve, reject) => {
        request({ port, host: '127.0.0.1', path: '/' }, r => {
          let body = ''
          r.on('data', c => { body += c })
          r.on('end', () => resolve({ headers: r.headers, body }))
        }).on('error', reject).end()
      })
      assert.equal(res.headers['transfer-encoding'], 'chunked')
      assert.equal(res.headers['content-length'], undefined)
      assert.equal(res.body, 'hello')
    } finally {
      child.kill()
    }
  })

  test('fastify scenarios are unsupported, said so', () => {
    const out = generate(join(SCENARIOS, 'reports/fastify-5919-locked-response-body-async-onsend.json'))
    assert.match(out.unsupported, /^dialect fastify: /)
  })
})
