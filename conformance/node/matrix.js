// The conformance matrix's kafkajs client: one operation per run, given as
// JSON in argv[2] (see ../driver_programs_test.go). consume prints the
// values it read as a JSON list on its last line; member stays in its
// group until stdin closes. Exit code 3: not supported (kafkajs has no
// static membership and no manual partition assignment).
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const spec = JSON.parse(process.argv[2])
const opts = { clientId: 'kafkajs-matrix', brokers: spec.brokers.split(','), logLevel: logLevel.NOTHING, retry: { initialRetryTime: 10, retries: 20 } }
if (spec.sasl) opts.sasl = { mechanism: spec.sasl.mechanism.toLowerCase(), username: spec.sasl.user, password: spec.sasl.pass }
if (spec.ca) Object.assign(opts, { ssl: { ca: [fs.readFileSync(spec.ca)] }, connectionTimeout: 2000, retry: { retries: 2 } })
const kafka = new Kafka(opts)
const acks = { 0: 0, 1: 1, all: -1 }

async function send(producer, values, acksValue) {
  for (const value of values) await producer.send({ topic: spec.topic, acks: acksValue, messages: [{ value, partition: 0 }] })
}

async function main() {
  switch (spec.op) {
    case 'produce': {
      const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: !!spec.idempotent, maxInFlightRequests: spec.idempotent ? 1 : undefined })
      await producer.connect()
      await send(producer, spec.values, acks[spec.acks])
      await producer.disconnect()
      return
    }
    case 'txn': {
      const producer = kafka.producer({ transactionalId: spec.txn_id, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      const tx = await producer.transaction()
      for (const value of spec.values) await tx.send({ topic: spec.topic, messages: [{ value, partition: 0 }] })
      await (spec.commit ? tx.commit() : tx.abort())
      await producer.disconnect()
      return
    }
    case 'consume': {
      // kafkajs consumes only in a group: without one, a group of its own.
      const groupId = spec.group || `matrix-${process.pid}-${Date.now()}`
      const consumer = kafka.consumer({ groupId, readUncommitted: !spec.read_committed, maxWaitTimeInMs: 50, heartbeatInterval: 100, sessionTimeout: 10000 })
      await consumer.connect()
      await consumer.subscribe({ topic: spec.topic, fromBeginning: true })
      const got = []
      let last
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`read only ${got}`)), 30000)
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            if (got.length >= spec.n) return
            got.push(message.value.toString())
            last = message.offset
            if (got.length === spec.n) { clearTimeout(timer); resolve() }
          },
        }).catch(reject)
      })
      if (spec.group) await consumer.commitOffsets([{ topic: spec.topic, partition: 0, offset: (BigInt(last) + 1n).toString() }])
      await consumer.disconnect()
      console.log(JSON.stringify(got))
      return
    }
    case 'member': {
      if (spec.instance_id) process.exit(3)
      const consumer = kafka.consumer({ groupId: spec.group, maxWaitTimeInMs: 50, heartbeatInterval: 100, sessionTimeout: 10000 })
      await consumer.connect()
      await consumer.subscribe({ topic: spec.topic })
      await consumer.run({ eachMessage: async () => {} })
      await new Promise((resolve) => { process.stdin.on('end', resolve); process.stdin.resume() })
      await consumer.disconnect()
      return
    }
    default:
      throw new Error(`unknown op ${spec.op}`)
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
