package fake

import (
	"fmt"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Option configures a Cluster; pass options to New (or harness.Start).
type Option func(*config) error

type topicSpec struct {
	name       string
	partitions int32
	replicas   int16
	configs    map[string]string
}

type config struct {
	brokers       int
	topics        []topicSpec
	seed          int64
	seedSet       bool
	kfakeOpts     []kfake.Opt
	replicaLagMax time.Duration
	autoCreate    bool
	wire          wire.Config   // the limits: see wire_api.go
	virtual       bool          // VirtualNetwork
	journalLimit  int           // JournalLimit; 0: unbounded
	journalHooks  []func(Event) // OnJournal
	sasl          []saslUser    // SASL
	internalPass  string        // fake's own SASL user's password (sasl.go)
	// brokerSessionTimeout: how long an isolated broker keeps its
	// leaderships before the controller fences it (BrokerSessionTimeout).
	brokerSessionTimeout time.Duration
}

// Brokers sets the number of brokers (default 3). Broker ids are 0..n-1.
func Brokers(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("fake.Brokers(%d): a cluster needs at least 1 broker", n)
		}
		c.brokers = n
		return nil
	}
}

// Topic creates a topic when the cluster starts. replicas may not exceed
// the number of brokers; configs are Kafka topic configs such as
// {"min.insync.replicas": "2"}.
func Topic(name string, partitions int32, replicas int16, configs ...map[string]string) Option {
	return func(c *config) error {
		switch {
		case name == "":
			return fmt.Errorf("fake.Topic(%q): the topic name is empty", name)
		case partitions < 1:
			return fmt.Errorf("fake.Topic(%q): partitions = %d, want >= 1", name, partitions)
		case replicas < 1:
			return fmt.Errorf("fake.Topic(%q): replicas = %d, want >= 1", name, replicas)
		}
		merged := map[string]string{}
		for _, m := range configs {
			for k, v := range m {
				merged[k] = v
			}
		}
		c.topics = append(c.topics, topicSpec{name, partitions, replicas, merged})
		return nil
	}
}

// Seed fixes the seed every random choice of the emulator flows from:
// replica placement, leader election, jitter, drop probabilities. Without
// it a random seed is used; Cluster.Seed reports it so a failure can be
// replayed.
func Seed(seed int64) Option {
	return func(c *config) error {
		c.seed, c.seedSet = seed, true
		return nil
	}
}

// ReplicaLagMax is Kafka's replica.lag.time.max.ms: how long a follower that
// stopped fetching stays in the ISR once it is behind. The default is 200ms
// because tests are fast; pass 30*time.Second for Kafka's own default.
func ReplicaLagMax(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("fake.ReplicaLagMax(%v): want a positive duration", d)
		}
		c.replicaLagMax = d
		return nil
	}
}

// AutoCreateTopics lets a Metadata or Produce request for an unknown topic
// create it, like Kafka's auto.create.topics.enable=true.
func AutoCreateTopics() Option {
	return func(c *config) error {
		c.autoCreate = true
		return nil
	}
}

// KfakeOpts passes options straight to the underlying kfake cluster, for
// what fake does not model itself (ACLs, broker configs, ...). For SASL
// use the SASL option, for TLS the TLS option: kfake.TLS does not work
// through fake (fake's wire layer reads Kafka frames from the client's
// socket before kfake's TLS listener would, so a client's handshake
// arrives as a malformed frame, and fake's own plaintext connections to
// kfake would fail its handshake).
// Options that fake owns (NumBrokers, Ports, ListenFn, SeedTopics) are
// overridden by fake.
func KfakeOpts(opts ...kfake.Opt) Option {
	return func(c *config) error {
		c.kfakeOpts = append(c.kfakeOpts, opts...)
		return nil
	}
}

// BrokerSessionTimeout is Kafka's broker.session.timeout.ms: how long the
// controller waits for the heartbeats of a broker cut off from it
// (Isolate) before it fences the broker, moving its leaderships and
// coordinators to the brokers it can reach. The default is Kafka's 9 s;
// with VirtualNetwork in a synctest bubble it passes in milliseconds.
func BrokerSessionTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("fake.BrokerSessionTimeout(%v): want a positive duration", d)
		}
		c.brokerSessionTimeout = d
		return nil
	}
}

// Spec is what a list of options asks of a cluster, for a harness that
// fronts a real cluster (harness with KAFKAEMU_BOOTSTRAP) instead of
// starting one: the topics to create, the seed, the wire limits, and the
// options only the emulator can honour.
type Spec struct {
	Topics          []TopicSpec
	Seed            int64
	SeedSet         bool
	MaxRequestBytes int           // 0: the default
	IdleTimeout     time.Duration // 0: the default
	// NeedsEmulator names the options given that only the emulator can
	// honour: VirtualNetwork (an in-memory network), KfakeOpts (kfake's
	// own behaviour), SASL (the emulator's users), TLS (the emulator's
	// certificate).
	NeedsEmulator []string
}

// TopicSpec is a topic a Topic option creates.
type TopicSpec struct {
	Name       string
	Partitions int32
	Replicas   int16
	Configs    map[string]string
}

// SpecOf applies opts to a fresh configuration and describes it; an
// invalid option is New's error.
func SpecOf(opts ...Option) (Spec, error) {
	var cfg config
	for i, o := range opts {
		if o == nil {
			return Spec{}, fmt.Errorf("fake.New: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return Spec{}, err
		}
	}
	s := Spec{Seed: cfg.seed, SeedSet: cfg.seedSet, MaxRequestBytes: cfg.wire.MaxRequestBytes, IdleTimeout: cfg.wire.IdleTimeout}
	for _, t := range cfg.topics {
		s.Topics = append(s.Topics, TopicSpec{Name: t.name, Partitions: t.partitions, Replicas: t.replicas, Configs: t.configs})
	}
	if cfg.virtual {
		s.NeedsEmulator = append(s.NeedsEmulator, "fake.VirtualNetwork")
	}
	if len(cfg.kfakeOpts) > 0 {
		s.NeedsEmulator = append(s.NeedsEmulator, "fake.KfakeOpts")
	}
	if len(cfg.sasl) > 0 {
		s.NeedsEmulator = append(s.NeedsEmulator, "fake.SASL")
	}
	if cfg.wire.TLS != nil {
		s.NeedsEmulator = append(s.NeedsEmulator, "fake.TLS")
	}
	return s, nil
}
