package scenarios_test

import (
	"fmt"

	"github.com/seed73168108/kafkaemu/scenarios"
)

func ExampleParse() {
	s, err := scenarios.Parse("acks1.yaml", []byte(`
name: acks1-leader-loss
cluster: {brokers: 3}
topics:
  - {name: orders, partitions: 1, replicas: 3}
workload:
  producers:
    - {name: p1, topic: orders, acks: "1", records: 300}
faults:
  - {after: {acked: 100}, do: pause-replication, topic: orders, partition: 0}
  - {after: 200ms, do: fail-leader, topic: orders, partition: 0}
expect:
  - lost-write: "> 0"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	p := s.Workload.Producers[0]
	fmt.Printf("%s: %s writes %d records with acks=%s (idempotent: %v)\n", s.Name, p.Name, p.Records, p.Acks, p.Idempotent)
	for _, f := range s.Faults {
		fmt.Printf("%s: after %s, %s %s[%d]\n", f.Pos, f.After, f.Verb, f.Topic, *f.Partition)
	}
	for _, e := range s.Expect {
		fmt.Printf("%s: expect %s\n", e.Pos, e)
	}
	// Output:
	// acks1-leader-loss: p1 writes 300 records with acks=1 (idempotent: false)
	// acks1.yaml:10:5: after acked 100, pause-replication orders[0]
	// acks1.yaml:11:5: after 200ms, fail-leader orders[0]
	// acks1.yaml:13:5: expect lost-write > 0
}

func ExampleParse_errors() {
	_, err := scenarios.Parse("typo.yaml", []byte(`
name: typo
cluster: {brokers: 3}
topics:
  - {name: orders, partitions: 3, replicas: 4}
workload:
  producers: [{name: p1, topic: order, records: 10}]
faults:
  - {after: 1s, do: fail-leadr, topic: orders}
expect:
  - lost-write: "about 5"
`))
	fmt.Println(err)
	// Output:
	// typo.yaml:5:45: replicas is 4 but the cluster has 3 brokers; expected at most 3
	// typo.yaml:7:33: topic "order" is not declared under topics; did you mean "orders"?
	// typo.yaml:9:21: unknown fault verb "fail-leadr"; did you mean "fail-leader"?
	// typo.yaml:11:17: lost-write "about 5" is not a comparison; expected a count like 0, or a comparison like "> 0", ">= 3", "< 10" or "== 5"
}

func ExampleComparison_Holds() {
	s, _ := scenarios.Parse("c.yaml", []byte(`
name: c
cluster: {brokers: 1}
topics: [{name: t, partitions: 1, replicas: 1}]
workload: {producers: [{name: p, topic: t, records: 1}]}
expect: [{duplicate: ">= 3"}]
`))
	c := s.Expect[0].Count
	fmt.Println(c, c.Holds(2), c.Holds(3))
	// Output: >= 3 false true
}
