"""The conformance matrix's confluent_kafka (librdkafka) client: one
operation per run, given as JSON in argv[1] (see ../driver_programs_test.go).
consume prints the values it read as a JSON list on its last line; member
stays in its group until stdin closes. Exit code 3: not supported."""
import json
import sys
import threading

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING

spec = json.loads(sys.argv[1])
errors = []


def config(extra):
    cfg = {"bootstrap.servers": spec["brokers"], "log_level": 2, "retry.backoff.ms": 10, "reconnect.backoff.ms": 10,
           "topic.metadata.refresh.interval.ms": 1000, "error_cb": lambda err: errors.append(str(err))}
    if spec.get("sasl"):
        s = spec["sasl"]
        cfg.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": s["mechanism"],
                    "sasl.username": s["user"], "sasl.password": s["pass"], "message.timeout.ms": 5000})
    if spec.get("ca"):
        cfg.update({"security.protocol": "SSL", "ssl.ca.location": spec["ca"], "message.timeout.ms": 5000})
    cfg.update(extra)
    return cfg


def send(p, values):
    for v in values:
        failed = []
        p.produce(spec["topic"], value=v.encode(), partition=0, on_delivery=lambda err, msg: failed.append(err) if err else None)
        if p.flush(60) > 0:
            sys.exit(f"no delivery report for {v!r}; errors: {errors}")
        if failed:
            sys.exit(f"delivery of {v!r} failed: {failed[0]}; errors: {errors}")


op = spec["op"]
if op == "produce":
    p = Producer(config({"acks": spec["acks"], "enable.idempotence": spec.get("idempotent", False), "linger.ms": 0}))
    send(p, spec["values"])
elif op == "txn":
    p = Producer(config({"transactional.id": spec["txn_id"], "linger.ms": 0}))
    p.init_transactions(30)
    p.begin_transaction()
    send(p, spec["values"])
    if spec.get("commit"):
        p.commit_transaction(30)
    else:
        p.abort_transaction(30)
elif op == "consume":
    c = Consumer(config({"group.id": spec.get("group") or "unused", "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "isolation.level": "read_committed" if spec.get("read_committed") else "read_uncommitted",
                         "fetch.wait.max.ms": 50, "session.timeout.ms": 10000, "heartbeat.interval.ms": 100}))
    if spec.get("group"):
        c.subscribe([spec["topic"]])
    else:
        c.assign([TopicPartition(spec["topic"], 0, OFFSET_BEGINNING)])
    got = []
    while len(got) < spec["n"]:
        m = c.poll(30)
        if m is None:
            sys.exit(f"no record in 30 s after {got}; errors: {errors}")
        if m.error():
            sys.exit(f"consume: {m.error()}")
        got.append(m.value().decode())
    if spec.get("group"):
        c.commit(asynchronous=False)
    c.close()
    print(json.dumps(got))
elif op == "member":
    extra = {"group.id": spec["group"], "session.timeout.ms": 10000, "heartbeat.interval.ms": 100, "fetch.wait.max.ms": 50}
    if spec.get("instance_id"):
        extra["group.instance.id"] = spec["instance_id"]
    c = Consumer(config(extra))
    c.subscribe([spec["topic"]])
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.is_set():
        c.poll(0.05)
    c.close()
else:
    sys.exit(f"unknown op {op}")
