// A Node service's test against kafkaemu's standalone server: kafkajs
// writes with acks=1, the test breaks the cluster through the HTTP fault
// API, and the writes the leader had not replicated are gone.
//
//   node leaderloss.js BROKERS FAULT_API
// prints: acknowledged=N consumed=M lost=L
const { Kafka, logLevel } = require('kafkajs')

const [brokers, api] = process.argv.slice(2)
const kafka = new Kafka({ clientId: 'node-service', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { initialRetryTime: 10, retries: 20 } })

async function fault(path) {
  const res = await fetch(api + path, { method: 'POST' })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
}

async function main() {
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  let acknowledged = 0
  const send = async (value) => {
    await producer.send({ topic: 'orders', acks: 1, messages: [{ key: value, value, partition: 0 }] })
    acknowledged++
  }
  for (let i = 0; i < 5; i++) await send(`replicated-${i}`)
  await fault('/pause-replication?topic=orders&partition=0')
  for (let i = 0; i < 5; i++) await send(`unreplicated-${i}`)
  await fault('/fail-leader?topic=orders&partition=0')
  await fault('/resume-replication?topic=orders&partition=0')
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: 'billing', maxWaitTimeInMs: 50, heartbeatInterval: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: 'orders', fromBeginning: true })
  const seen = new Set()
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${[...seen]}`)), 15000)
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value.toString())
        if (seen.size === 5) { clearTimeout(timer); resolve() }
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  const lost = [...Array(5).keys()].filter((i) => !seen.has(`unreplicated-${i}`)).length
  console.log(`acknowledged=${acknowledged} consumed=${seen.size} lost=${lost} values=${[...seen].sort().join(',')}`)
}

main().catch((err) => { console.error(err); process.exit(1) })
