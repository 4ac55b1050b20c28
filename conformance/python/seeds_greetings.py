"""The seeds' kafka-python example (001), unchanged but for bootstrap_servers:
a producer sends "Greeting #i" to topic greetings, a consumer in group1 reads
them back from the earliest offset."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer

server = sys.argv[1]
n = int(sys.argv[2])

producer = KafkaProducer(bootstrap_servers=[server], value_serializer=lambda v: json.dumps(v).encode("utf-8"))
for i in range(n):
    producer.send("greetings", f"Greeting #{i}")
producer.flush()
producer.close()

consumer = KafkaConsumer("greetings", group_id="group1", bootstrap_servers=[server],
                         auto_offset_reset="earliest", consumer_timeout_ms=10000)
seen = 0
for message in consumer:
    print(f"{message.topic}:{message.partition}:{message.offset}: key={message.key} value={json.loads(message.value)}")
    seen += 1
    if seen == n:
        break
consumer.commit()
consumer.close()
