// Starts an in-memory DID PLC directory and the reference Bluesky PDS for
// tests. Run with `node -r ./loopback.js start-pds.js`; settings come from the
// environment (see scripts/services.sh). Stops both on SIGTERM/SIGINT.
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')

function required(name) {
  const value = process.env[name]
  if (!value) {
    console.error(`start-pds.js: set ${name} (scripts/services.sh does this for you)`)
    process.exit(2)
  }
  return value
}

function setDefault(name, value) {
  if (!process.env[name]) process.env[name] = value
}

async function main() {
  const plcPort = Number(required('PLC_PORT'))
  const pdsPort = required('PDS_PORT')
  const dataDir = required('PDS_DATA_DIRECTORY')

  // The PLC is in memory, so every start needs an empty PDS data folder:
  // accounts left from an earlier run would point at DIDs that no longer exist.
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    console.error(`start-pds.js: ${dataDir} is not empty; give each run a fresh PDS_DATA_DIRECTORY`)
    process.exit(2)
  }
  const blobDir = process.env.PDS_BLOBSTORE_DISK_LOCATION || path.join(dataDir, 'blobs')
  fs.mkdirSync(dataDir, { recursive: true })
  fs.mkdirSync(blobDir, { recursive: true })

  const { PlcServer, Database } = require('@did-plc/server')
  const plc = PlcServer.create({ db: Database.mock(), port: plcPort })
  await plc.start()

  // 127.0.0.1 rather than localhost: Node may resolve localhost to ::1 first,
  // where nothing listens.
  process.env.PDS_DID_PLC_URL = `http://127.0.0.1:${plcPort}`
  process.env.PDS_BLOBSTORE_DISK_LOCATION = blobDir
  process.env.PDS_PORT = pdsPort
  setDefault('PDS_HOSTNAME', 'localhost')
  setDefault('PDS_DEV_MODE', 'true')
  setDefault('PDS_INVITE_REQUIRED', 'false')
  setDefault('PDS_RATE_LIMITS_ENABLED', 'false')
  setDefault('PDS_JWT_SECRET', crypto.randomBytes(32).toString('hex'))
  setDefault('PDS_ADMIN_PASSWORD', crypto.randomBytes(16).toString('hex'))
  setDefault('PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX', crypto.randomBytes(32).toString('hex'))

  const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds')
  const env = readEnv()
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  await pds.start()
  console.log(`PDS listening on http://localhost:${pdsPort} (PLC on http://127.0.0.1:${plcPort})`)

  let stopping = false
  const stop = async (signal) => {
    if (stopping) return
    stopping = true
    console.log(`start-pds.js: ${signal}, stopping`)
    try {
      await pds.destroy()
      await plc.destroy()
    } finally {
      process.exit(0)
    }
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  console.error('start-pds.js: failed to start', err)
  process.exit(1)
})
