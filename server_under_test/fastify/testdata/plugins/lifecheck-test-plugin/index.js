// A plugin for lifecheck's own tests (not a real package): adds `x-test-plugin: TAG` to every
// reply; with `answer: STATUS` it answers every request itself from onRequest (so a test sees
// whether its hook ran before the scenario's own onRequest hooks); with `throwAfterResponse:
// true` its onResponse hook throws from a timer, a plugin bug that kills the process after each
// reply (harness/cli/plugin_test.cpp: the run with the plugin crashes). Not encapsulated, like a
// fastify-plugin plugin.
'use strict'

function lifecheckTestPlugin (fastify, opts, done) {
  fastify.addHook('onRequest', (request, reply, next) => {
    reply.header('x-test-plugin', String(opts.tag ?? 'on'))
    if (opts.answer !== undefined) {
      reply.code(opts.answer).send('from plugin')
      return
    }
    next()
  })
  if (opts.throwAfterResponse === true) {
    fastify.addHook('onResponse', (request, reply, next) => {
      setTimeout(() => { throw new Error('lifecheck-test-plugin: thrown after the response') }, 0)
      next()
    })
  }
  done()
}

lifecheckTestPlugin[Symbol.for('skip-override')] = true
module.exports = lifecheckTestPlugin
