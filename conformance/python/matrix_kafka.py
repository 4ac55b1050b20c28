"""The conformance matrix's kafka-python client: one operation per run,
given as JSON in argv[1] (see ../driver_programs_test.go). consume prints
the values it read as a JSON list on its last line; member stays in its
group until stdin closes. Exit code 3: not supported (kafka-python 2.0 has
no transactions, no idempotent producer, no static membership and no
isolation level)."""
import json
import sys
import threading

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

spec = json.loads(sys.argv[1])


def config(extra):
    cfg = {"bootstrap_servers": spec["brokers"].split(","), "retry_backoff_ms": 10, "reconnect_backoff_ms": 10,
           "metadata_max_age_ms": 1000}
    if spec.get("sasl"):
        s = spec["sasl"]
        cfg.update({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": s["mechanism"],
                    "sasl_plain_username": s["user"], "sasl_plain_password": s["pass"]})
    if spec.get("ca"):
        cfg.update({"security_protocol": "SSL", "ssl_cafile": spec["ca"], "api_version_auto_timeout_ms": 5000})
    cfg.update(extra)
    return cfg


op = spec["op"]
if op == "produce":
    if spec.get("idempotent"):
        sys.exit(3)
    acks = {"0": 0, "1": 1, "all": "all"}[spec["acks"]]
    p = KafkaProducer(**config({"acks": acks, "retries": 10, "max_in_flight_requests_per_connection": 1}))
    for v in spec["values"]:
        p.send(spec["topic"], value=v.encode(), partition=0).get(timeout=60)
    p.flush()
    p.close()
elif op == "txn":
    sys.exit(3)
elif op == "consume":
    # kafka-python 2.0 has no isolation_level: read_committed is not
    # asked for, and it reads what a read_uncommitted fetch returns.
    group = spec.get("group") or None
    c = KafkaConsumer(**config({"group_id": group, "auto_offset_reset": "earliest", "enable_auto_commit": False,
                                "fetch_max_wait_ms": 50, "session_timeout_ms": 10000, "heartbeat_interval_ms": 100}))
    if group:
        c.subscribe([spec["topic"]])
    else:
        tp = TopicPartition(spec["topic"], 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
    got = []
    while len(got) < spec["n"]:
        batches = c.poll(timeout_ms=30000)
        if not batches:
            sys.exit(f"no record in 30 s after {got}")
        for recs in batches.values():
            got.extend(r.value.decode() for r in recs)
    got = got[: spec["n"]]
    if group:
        c.commit()
    c.close()
    print(json.dumps(got))
elif op == "member":
    if spec.get("instance_id"):
        sys.exit(3)
    c = KafkaConsumer(**config({"group_id": spec["group"], "session_timeout_ms": 10000, "heartbeat_interval_ms": 100,
                                "fetch_max_wait_ms": 50}))
    c.subscribe([spec["topic"]])
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.is_set():
        c.poll(timeout_ms=50)
    c.close()
else:
    sys.exit(f"unknown op {op}")
