"""The seeds' confluent_kafka example (003/004): Producer.produce + flush, then
a Consumer with enable.auto.commit=False polling from the earliest offset."""
import sys

from confluent_kafka import Consumer, Producer

server = sys.argv[1]
n = int(sys.argv[2])

p = Producer({"bootstrap.servers": server, "acks": "all"})
for i in range(n):
    p.produce("my_topic", key="key", value=f"value-{i}")
p.flush()

c = Consumer({"bootstrap.servers": server, "group.id": "seeds", "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
c.subscribe(["my_topic"])
seen = 0
while seen < n:
    msg = c.poll(10.0)
    if msg is None:
        sys.exit(f"timed out after {seen} messages")
    if msg.error():
        continue
    print(msg.value().decode())
    seen += 1
c.commit(asynchronous=False)
c.close()
