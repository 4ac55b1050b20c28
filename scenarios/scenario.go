package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Scenario is one parsed scenario file: a cluster, its topics, a workload,
// a timeline of faults and the outcome expected. Defaults are filled in, so
// a runner reads every field as it stands. See REFERENCE.md for the format.
type Scenario struct {
	Pos         Pos // the file's first key
	Name        string
	Description string
	// Seed fixes every random choice of the emulator; nil lets the runner
	// pick one (and print it on failure).
	Seed *int64
	// Timeout bounds the whole run; 0 leaves it to the runner.
	Timeout time.Duration
	// Clock is the clock the run keeps under go test: ClockVirtual (the
	// default) runs it in a testing/synctest bubble, ClockReal on the wall
	// clock. kafkaemu run always keeps the real clock.
	Clock Clock
	// BrokerSessionTimeout is how long a broker cut off by isolate-broker
	// keeps its leaderships before the controller fences it (Kafka's
	// broker.session.timeout.ms); 0 keeps the emulator's default, 9s.
	BrokerSessionTimeout time.Duration
	Cluster              Cluster
	Topics               []Topic
	Workload             Workload
	Faults               []Fault // in file order, which is the order simultaneous faults apply in
	Expect               []Expectation
}

// Clock is the clock a scenario runs on under go test.
type Clock string

// The clocks.
const (
	ClockVirtual Clock = "virtual"
	ClockReal    Clock = "real"
)

// Topic returns the topic named name.
func (s *Scenario) Topic(name string) (Topic, bool) {
	for _, t := range s.Topics {
		if t.Name == name {
			return t, true
		}
	}
	return Topic{}, false
}

// Cluster is the emulated cluster's shape.
type Cluster struct {
	Pos     Pos
	Brokers int // broker ids are 0..Brokers-1
	// ReplicaLagMax is how long a follower that stopped copying stays in the
	// ISR (Kafka's replica.lag.time.max.ms); 0 keeps the emulator's default.
	ReplicaLagMax time.Duration
}

// Topic is a topic created before the workload starts.
type Topic struct {
	Pos        Pos
	Name       string
	Partitions int32
	Replicas   int16
	Configs    map[string]string // topic configs such as min.insync.replicas; never nil
}

// Workload is the clients a scenario runs. Every client has a name, unique
// across producers, consumers and pipelines, which is also its client.id
// (network faults target clients by it).
type Workload struct {
	Pos       Pos
	Producers []Producer
	Consumers []Consumer
	Pipelines []Pipeline
}

// Acks is a producer's acks setting.
type Acks int16

const (
	AcksNone   Acks = 0  // acks=0: no answer awaited
	AcksLeader Acks = 1  // acks=1: the leader's write is enough
	AcksAll    Acks = -1 // acks=all: every in-sync replica, and at least min.insync.replicas
)

// String returns the form the file uses: "0", "1" or "all".
func (a Acks) String() string {
	if a == AcksAll {
		return "all"
	}
	return fmt.Sprint(int16(a))
}

// Producer writes Records records to Topic. Record i has the value
// "<name>-<i>" (its identity for the delivery checks) and, with Keys > 0,
// the key "k<i mod Keys>".
type Producer struct {
	Pos     Pos
	Name    string
	Topic   string
	Records int
	Rate    int // records per second; 0 is as fast as the cluster allows
	Acks    Acks
	// Idempotent is the resolved setting: given, or else true exactly when
	// Acks is AcksAll (Kafka's default since 3.0).
	Idempotent      bool
	TransactionalID string // "" for a non-transactional producer
	TxnSize         int    // records per transaction; 0 unless transactional
	AbortEvery      int    // every AbortEvery-th transaction is aborted; 0 never
	Keys            int    // distinct keys; 0 sends records without keys
	Partition       *int32 // nil lets the partitioner choose
	// DeliveryTimeout fails a record not acknowledged this long after it
	// was produced; 0 retries until acknowledged.
	DeliveryTimeout time.Duration
}

// CommitMode is when a consumer commits the offsets it polled.
type CommitMode string

const (
	CommitAfterProcess  CommitMode = "after-process"  // after processing each poll: at-least-once
	CommitBeforeProcess CommitMode = "before-process" // before processing each poll: at-most-once
	CommitAuto          CommitMode = "auto"           // the client's periodic autocommit
	CommitOnRevoke      CommitMode = "on-revoke"      // after-process, and what was processed when partitions are revoked
	CommitNone          CommitMode = "none"           // never
)

// Isolation is a consumer's isolation.level.
type Isolation string

const (
	ReadUncommitted Isolation = "read_uncommitted"
	ReadCommitted   Isolation = "read_committed"
)

// GroupProtocol is the consumer group protocol.
type GroupProtocol string

const (
	ProtocolClassic  GroupProtocol = "classic"  // JoinGroup/SyncGroup, client-side balancer
	ProtocolConsumer GroupProtocol = "consumer" // KIP-848, server-side assignment
)

// OffsetReset is where a consumer starts without a usable committed offset
// (auto.offset.reset).
type OffsetReset string

const (
	ResetEarliest OffsetReset = "earliest"
	ResetLatest   OffsetReset = "latest"
)

// Consumer is a group member that polls Topics and processes what it polls.
type Consumer struct {
	Pos         Pos
	Name        string
	Group       string
	Topics      []string
	Commit      CommitMode    // default CommitAfterProcess
	Isolation   Isolation     // default ReadUncommitted
	InstanceID  string        // group.instance.id (static membership); "" for a dynamic member
	Protocol    GroupProtocol // default ProtocolClassic
	Balancer    string        // classic only: range, roundrobin, sticky or cooperative-sticky (default); "" with ProtocolConsumer
	OffsetReset OffsetReset   // default ResetEarliest
	// SessionTimeout is the group session timeout; 0 keeps the runner's.
	SessionTimeout time.Duration
	// ProcessTime is spent on each record polled, so faults can land mid-batch.
	ProcessTime time.Duration
	// CrashAfter crashes the consumer right after it processed its
	// CrashAfter-th record, before committing it: no commit, no LeaveGroup.
	// It happens once (records processed again after a restart count on);
	// 0 never.
	CrashAfter int
}

// Pipeline is a transactional read-process-write loop: it consumes Input in
// Group and, per poll, copies each record's key and value to Output and
// commits its input offsets in the same transaction.
type Pipeline struct {
	Pos             Pos
	Name            string
	Group           string
	Input           string
	Output          string
	TransactionalID string        // default: the pipeline's name
	Isolation       Isolation     // for reading Input; default ReadCommitted
	AbortEvery      int           // every AbortEvery-th transaction is aborted (and its input re-read); 0 never
	SessionTimeout  time.Duration // as Consumer.SessionTimeout
	ProcessTime     time.Duration // per record
	CrashAfter      int           // as Consumer.CrashAfter: mid-transaction
}

// Verb names what a fault does.
type Verb string

// The fault verbs. REFERENCE.md lists each one's parameters.
const (
	// Replication and topology.
	PauseReplication  Verb = "pause-replication"
	ResumeReplication Verb = "resume-replication"
	FailLeader        Verb = "fail-leader"
	KillBroker        Verb = "kill-broker"
	RestartBroker     Verb = "restart-broker"
	DeleteRecords     Verb = "delete-records"
	// Network, per client connection.
	Latency          Verb = "latency"
	DropResponses    Verb = "drop-responses"
	CloseConnections Verb = "close-connections"
	Blackhole        Verb = "blackhole"
	NetworkPartition Verb = "network-partition"
	// A broker cut off from the controller and its peers (split brain).
	IsolateBroker Verb = "isolate-broker"
	Heal          Verb = "heal"
	// Groups.
	Rebalance       Verb = "rebalance"
	ExpireMember    Verb = "expire-member"
	JoinPhantom     Verb = "join-phantom"
	LeavePhantom    Verb = "leave-phantom"
	MoveCoordinator Verb = "move-coordinator"
	// Errors.
	InjectError Verb = "inject-error"
	// Client actions.
	CrashConsumer   Verb = "crash-consumer"
	RestartConsumer Verb = "restart-consumer"
	FenceProducer   Verb = "fence-producer"
)

// Verbs returns every fault verb, in the order REFERENCE.md documents them,
// so a runner can check that it handles each one.
func Verbs() []Verb { return slices.Clone(verbOrder) }

// Undoable reports whether the verb accepts "for:", and so can be removed
// or undone after a while.
func (v Verb) Undoable() bool { return verbs[v].undo != "" }

// Fault is one entry of the fault timeline: Verb applied when After fires,
// and undone For later if For > 0. Only the parameters the verb takes are
// set; the rest are zero.
type Fault struct {
	Pos   Pos
	Verb  Verb
	After Trigger
	For   time.Duration

	Topic     string
	Partition *int32 // nil: every partition of Topic
	Broker    *int32 // a broker id; nil: none given
	// LeaderOf: isolate-broker's broker given as "leader-of topic/partition",
	// resolved when the fault applies; nil when Broker is a number.
	LeaderOf *PartitionRef
	Brokers  []int32 // network-partition: the isolated side
	Group    string
	Member   string // expire-member: the consumer or pipeline expelled
	Consumer string // crash-consumer, restart-consumer
	Pipeline string // crash-consumer, restart-consumer, fence-producer
	Producer string // fence-producer
	Client   string // network faults: only this client's connections
	Requests []kmsg.Key
	Delay    time.Duration // latency
	Jitter   time.Duration // latency: up to this much more, from the seed
	// Probability that drop-responses drops a matching response, in (0, 1].
	Probability float64
	// Count: network faults remove themselves after Count hits, inject-error
	// fails Count requests, phantoms join or leave Count at a time. 0 means
	// no limit (network faults, inject-error).
	Count  int
	Error  *kerr.Error // inject-error
	Offset *int64      // delete-records: delete below this offset; nil: the high watermark
}

// PartitionRef names one partition of a topic.
type PartitionRef struct {
	Topic     string
	Partition int32
}

// String is the form the file writes, "orders/0".
func (r PartitionRef) String() string { return fmt.Sprintf("%s/%d", r.Topic, r.Partition) }

// TriggerKind is what a trigger waits for.
type TriggerKind string

const (
	AtTime      TriggerKind = "time"      // Elapsed since the workload started
	OnAcked     TriggerKind = "acked"     // records acknowledged to producers
	OnConsumed  TriggerKind = "consumed"  // records processed by consumers and pipelines
	OnCommitted TriggerKind = "committed" // records whose offsets were committed
)

// Trigger is when a fault applies. Progress triggers fire once Count is
// reached, counting only Producer, Consumer or Group when one is given.
type Trigger struct {
	Pos      Pos
	Kind     TriggerKind
	Elapsed  time.Duration // AtTime
	Count    int           // OnAcked, OnConsumed, OnCommitted
	Producer string        // OnAcked
	Consumer string        // OnConsumed, OnCommitted: a consumer or pipeline
	Group    string        // OnConsumed, OnCommitted
}

// String describes the trigger, such as "300ms" or "acked 500 (producer p1)".
func (t Trigger) String() string {
	if t.Kind == AtTime {
		return t.Elapsed.String()
	}
	return fmt.Sprintf("%s %d%s", t.Kind, t.Count, scope(t.Producer, t.Consumer, t.Group))
}

func scope(producer, consumer, group string) string {
	var parts []string
	for _, s := range [][2]string{{"producer", producer}, {"consumer", consumer}, {"group", group}} {
		if s[1] != "" {
			parts = append(parts, s[0]+" "+s[1])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// ExpectKind is what an expectation checks.
type ExpectKind string

const (
	ExpectAnomaly      ExpectKind = "anomaly"        // how often a Jepsen anomaly occurred
	ExpectDelivery     ExpectKind = "delivery"       // a delivery guarantee held
	ExpectAcked        ExpectKind = "acked"          // records acknowledged to producers
	ExpectConsumed     ExpectKind = "consumed"       // records processed, redeliveries included
	ExpectRebalances   ExpectKind = "rebalances"     // generations after the first fault
	ExpectProduceError ExpectKind = "produce-errors" // produce responses carrying an error code
	ExpectFenced       ExpectKind = "fenced"         // zombies fence-producer faults stopped
)

// Delivery is a delivery guarantee.
type Delivery string

const (
	AtMostOnce  Delivery = "at-most-once"
	AtLeastOnce Delivery = "at-least-once"
	ExactlyOnce Delivery = "exactly-once"
)

// Expectation is one check on the run's outcome, optionally narrowed to a
// producer, a consumer (or pipeline) or a group.
type Expectation struct {
	Pos      Pos
	Kind     ExpectKind
	Anomaly  string      // ExpectAnomaly: a name such as "lost-write" or "G1a"
	Delivery Delivery    // ExpectDelivery
	Error    *kerr.Error // ExpectProduceError
	Count    Comparison  // every kind but ExpectDelivery
	Producer string
	Consumer string
	Group    string
}

// String describes the expectation, such as "lost-write > 0 (producer p1)".
func (e Expectation) String() string {
	var what string
	switch e.Kind {
	case ExpectAnomaly:
		what = e.Anomaly + " " + e.Count.String()
	case ExpectDelivery:
		what = "delivery " + string(e.Delivery)
	case ExpectProduceError:
		what = "produce-errors " + e.Error.Message + " " + e.Count.String()
	default:
		what = string(e.Kind) + " " + e.Count.String()
	}
	return what + scope(e.Producer, e.Consumer, e.Group)
}

// Op is a comparison operator.
type Op string

const (
	Eq        Op = "=="
	Less      Op = "<"
	LessEq    Op = "<="
	Greater   Op = ">"
	GreaterEq Op = ">="
)

// Comparison is a condition on a count, such as "> 0".
type Comparison struct {
	Op Op
	N  int
}

// Holds reports whether n satisfies the comparison.
func (c Comparison) Holds(n int) bool {
	switch c.Op {
	case Eq:
		return n == c.N
	case Less:
		return n < c.N
	case LessEq:
		return n <= c.N
	case Greater:
		return n > c.N
	case GreaterEq:
		return n >= c.N
	}
	return false
}

// String formats the comparison as the file may write it, such as "> 0".
func (c Comparison) String() string { return fmt.Sprintf("%s %d", c.Op, c.N) }
