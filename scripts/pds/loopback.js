// Preloaded with `node -r` so servers that call listen(port) without a host
// bind 127.0.0.1 instead of every interface: test servers must not be
// reachable from the network.
'use strict'
const net = require('net')

const LOOPBACK = '127.0.0.1'
const originalListen = net.Server.prototype.listen

function isPort(value) {
  return typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))
}

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first] = args
  if (isPort(first)) {
    if (typeof args[1] !== 'string') args.splice(1, 0, LOOPBACK)
  } else if (first === undefined || typeof first === 'function') {
    args.unshift(0, LOOPBACK)
  } else if (
    first !== null &&
    typeof first === 'object' &&
    first.host === undefined &&
    first.path === undefined &&
    first.fd === undefined &&
    first._handle === undefined &&
    first.handle === undefined
  ) {
    args[0] = { ...first, host: LOOPBACK }
  }
  return originalListen.apply(this, args)
}
