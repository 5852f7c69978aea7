// The idle signal of the target protocol (v2.6, scenario-format §3.1, decisions.md D57), shared by
// the Fastify and Koa adapters: `{"cmd":"idle","id":N}` is answered with `{"t":"idle","id":N}` once
// the app is idle.

/**
 * @param print writes one protocol line
 * @param busy  true while a request of the current app has no `end` out yet
 * @returns appTimeout/appSleep (the timers the app's callbacks set: delayMs, chunk delays, ops
 *   awaits, counted so `idle` waits for them; the adapter's own timers, such as close grace
 *   periods, use setTimeout and are not), output() (call for every cb and end line),
 *   answerWhenIdle(id) and forget() (drops waits the harness gave up on, at a new load)
 */
export function idleSignal ({ print, busy }) {
  let appTimers = 0
  let outputs = 0
  const waiters = []

  function appTimeout (fn, ms) {
    appTimers++
    return setTimeout(() => { appTimers--; fn() }, ms)
  }

  /**
   * Idle: no request without its `end`, no app timer, and nothing written for three turns of the
   * event loop in a row (setImmediate runs after the poll phase, so I/O that became ready meanwhile
   * is handled first; nextTicks and microtasks drain before it). While busy it looks again every
   * millisecond instead of spinning.
   */
  function answerWhenIdle (id) {
    waiters.push(id)
    if (waiters.length > 1) return
    let quietTurns = 0
    let seen = outputs
    const check = () => {
      if (waiters.length === 0) return
      const isBusy = appTimers > 0 || busy()
      if (isBusy || outputs !== seen) {
        quietTurns = 0
        seen = outputs
        if (isBusy) {
          setTimeout(check, 1)
          return
        }
      } else if (++quietTurns >= 3) {
        for (const waiter of waiters.splice(0)) print({ t: 'idle', id: waiter })
        return
      }
      setImmediate(check)
    }
    setImmediate(check)
  }

  return {
    appTimeout,
    appSleep: ms => new Promise(resolve => appTimeout(resolve, ms)),
    output: () => { outputs++ },
    answerWhenIdle,
    forget: () => { waiters.length = 0 }
  }
}
