// Package fake is kafkaemu's emulated Kafka cluster: a real, in-process,
// multi-broker cluster on 127.0.0.1 that speaks the Kafka protocol through
// franz-go's kfake, plus what kfake does not model and a test needs to
// break on purpose.
//
// # The model
//
// kfake answers every request; fake owns the topology around it:
//
//   - Brokers (ids 0..n-1), each up or down (KillBroker, RestartBroker).
//   - Topics and partitions. Each partition has a replica list placed like
//     Kafka's rack-unaware assignment (random start and shift from the
//     cluster seed, preferred leader first), an ISR, a leader and a leader
//     epoch. Topics created by clients (CreateTopics, auto-create) join the
//     model when they appear. Metadata answers show the model's leader,
//     epoch, replicas, ISR and offline replicas, so kcat -L and kadm print
//     them.
//   - min.insync.replicas (topic config, default 1) and
//     unclean.leader.election.enable (default false).
//
// Clients move leaders only through the model. fake answers ElectLeaders
// itself, as Kafka's controller does (KIP-460): a preferred election
// makes the first replica of the assignment leader if it is alive and in
// the ISR (ELECTION_NOT_NEEDED if it leads already,
// PREFERRED_LEADER_NOT_AVAILABLE if it cannot); an unclean election
// elects a leader only for an offline partition, an in-sync replica if one
// is alive and else any live replica, whatever
// unclean.leader.election.enable says (ELECTION_NOT_NEEDED when the
// partition has a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica
// is alive). A null topic list means every partition, and leaves out
// those that need no election. Unknown topics and partitions get
// UNKNOWN_TOPIC_OR_PARTITION. An election is the leader change FailLeader
// makes: a new epoch, the old leader's un-replicated tail dropped, a
// leader-change event in the journal. AlterPartitionAssignments is
// answered too: fake does not move replicas, so a reassignment gets
// INVALID_REQUEST ("kafkaemu does not reassign replicas; ..."), one to
// the current replicas succeeds and a cancellation gets
// NO_REASSIGNMENT_IN_PROGRESS. kfake sees neither request.
//
// # Replication
//
// kfake's log holds the replicated prefix of every partition: it ends at
// the high watermark, so consumers and ListOffsets see only committed
// records, as in Kafka. Replication is instant unless a fault stops it.
// While an in-sync follower is not copying (PauseReplication,
// PauseFollower, a crashed broker, a network Partition), writes collect in
// the leader's un-replicated tail, which fake keeps: acks=0/1 writes are
// acknowledged with the offsets the leader assigns, acks=all writes wait.
// After ReplicaLagMax the lagging followers leave the ISR and the high
// watermark advances over the rest; with fewer in-sync replicas than
// min.insync.replicas, acks=all writes are refused with NOT_ENOUGH_REPLICAS
// (and waiting ones answered NOT_ENOUGH_REPLICAS_AFTER_APPEND). When a
// leader fails (FailLeader, KillBroker) the tail is dropped: acknowledged
// acks=0/1 writes in it are lost and their offsets are reused, exactly the
// loss Kafka has; waiting acks=all writes fail retriably and a retry to the
// new leader succeeds, so acks=all with min.insync.replicas=2 loses nothing.
//
// Transactions keep Kafka's log order: an EndTxn waits until the
// partitions its transaction wrote have no un-replicated tail (replication
// resumed, the lagging followers left the ISR, or a failover dropped the
// tail), so the commit or abort marker lands after the data. Idempotent
// and transactional producers keep their guarantees across failover: a
// retried batch is deduplicated by producer id, epoch and sequence (also
// when it arrives while the leader keeps a tail), answered with its first
// offsets and not journaled as a second append. A
// producer fenced by a new instance of its transactional id stays fenced:
// its EndTxn and its KIP-360 recovery from the old epoch get
// PRODUCER_FENCED, as in Kafka (kfake alone would let the zombie back in,
// with transactions V2 even handing it its successor's epoch).
//
// What is not modelled: unclean election elects an out-of-sync replica
// (leader epoch up, ISR just that replica) but loses nothing: by then the
// ISR was the leader alone, so there is no tail, and Kafka's loss of the
// committed records the new leader had never copied would need kfake to
// truncate the end of a log, which it cannot; kfake itself
// applies transaction timeouts, retention and compaction, to the
// replicated prefix only; a leader cut off by a network Partition (from
// clients and brokers alike) stays leader: use Isolate for a leader the
// controller fences.
//
// PauseReplication belongs to the partition and outlives failovers: the
// new leader's followers copy nothing either, until ResumeReplication
// (the leader-change event says so).
//
// # Split brain
//
// Isolate cuts brokers off from the controller and from the other
// brokers while clients still reach them. An isolated leader keeps
// acknowledging acks=0/1 writes that no follower copies, cannot shrink its
// ISR (that takes the controller), so acks=all writes time out with
// REQUEST_TIMED_OUT, and answers Metadata with its view from when it was
// cut off. After BrokerSessionTimeout (Kafka's broker.session.timeout.ms,
// 9 s) the controller fences it (broker-fenced): its partitions get new
// leaders from the rest of their ISR (next epoch; offline if none is
// left), it leaves every ISR, and its group and transaction coordinators
// move (commits sent to it get NOT_COORDINATOR). The fenced broker still
// believes it leads: it acknowledges acks=0/1 writes at offsets the new
// leader hands out too, and serves reads only below its old high
// watermark. When the fault is removed it unfences, truncates each
// divergent tail to where its epoch ended on the new leader (KIP-101,
// journaled as truncate: those acknowledged writes are lost) and rejoins
// the ISR. Not modelled: a fenced broker's FindCoordinator and topic
// admin requests are answered as if it were not isolated.
//
// # The wire
//
// Every client connection passes through fake on its way to kfake, which
// is where the tail is kept, Metadata is rewritten, network faults
// (Latency, DropResponses, CloseConnections, Blackhole, Partition,
// Isolate) apply, and the journal learns what was appended, served and
// committed. The wire layer, the network faults and the journal are
// packages of their own (internal/wire, netfault, journal), shared with
// kafkaemu's fault proxy in front of a real cluster; fake's names for
// them (NetFault, FaultHandle, Event, Timeline, ...) are aliases.
//
// # Bad requests
//
// No client can take the cluster down. Every request is checked before
// anything else sees it: its length must be within MaxRequestBytes
// (Kafka's socket.request.max.bytes, 100 MiB by default), its key and
// version among those the cluster advertises in ApiVersions (kfake's,
// capped by kfake.MaxVersions), and its body must decode; a CreateTopics
// or CreatePartitions may ask for at most 100000 partitions. A request
// that fails any check is not forwarded: its connection is closed, as
// Kafka closes the connection of a client that sends an invalid request,
// and the journal records a bad-request event (Broker, Conn: the client's
// address, Client, APIKey and APIVersion, -1 when the frame ended before
// them, Error: the reason, Detail: the frame's first 64 bytes in hex).
// Everyone else is served on. An ApiVersions request at a version the
// cluster does not speak is answered as Kafka answers it: a v0 response
// with UNSUPPORTED_VERSION and the ApiVersions versions it speaks, so the
// client retries at one of them.
//
// A frame takes memory as its bytes arrive, not on its announced length.
// IdleTimeout (Kafka's connections.max.idle.ms; 1 minute by default)
// closes a connection that sends nothing while it is owed no answer, and
// one that begins a request and does not finish it in time (stalled or
// trickling; journaled as bad-request). Close closes every connection.
//
// # Virtual time
//
// With the VirtualNetwork option the brokers listen on an in-memory
// network (127.0.0.1:9092, 9093, ... inside the process only; net.Pipe
// connections) instead of TCP loopback, and clients dial through
// Cluster.DialContext (kgo.Dialer(c.DialContext); harness clients do it by
// themselves). Inside testing/synctest every timer of fake, kfake and the
// clients then runs on the bubble's clock: Kafka's real timeouts (45 s
// sessions, 60 s transactions) pass in milliseconds, and a wait ends
// because something happened, not because a busy machine was slow. The
// bubble also checks that everything the cluster started ends at Close.
// Outside a bubble the in-memory network works in real time.
//
// # Groups
//
// Rebalance forces a new generation (classic: the leader is told
// REBALANCE_IN_PROGRESS, as Kafka tells members, and its rejoin rebalances
// everyone; KIP-848: the group epoch moves). ExpireMember expels a member
// as a session timeout would. JoinPhantom adds members that are not
// clients but take partitions (a classic phantom that becomes leader
// balances with the kgo balancer the real members named). MoveCoordinator
// moves the coordinator; committed offsets survive. WaitGroup waits for a
// group state (GroupStable, GroupOwns) instead of sleeping, as
// WaitPartition does for a partition (writes waiting in the leader's tail,
// a shrunk ISR, a new leader). The cluster
// allows 100 ms session timeouts and a 100 ms KIP-848 heartbeat interval,
// so with harness clients a second member owns partitions in well under
// 200 ms.
//
// # Journal
//
// Journal returns every event in order: appends, high-watermark moves,
// truncations, fetches served to each connection, offset commits,
// transactional producer ids handed out (producer-init), transaction
// begins (a producer's first transactional append) and ends,
// leader/ISR/epoch changes, topics created and deleted, brokers up and
// down, fenced and unfenced, group generations and verbs, coordinator
// moves (MoveCoordinator, KillBroker, a fence), network faults added, hit
// and removed, bad requests.
// JournalSince returns only the events after a sequence number, for
// followers such as harness's WaitConsumed. WriteJournal exports it as
// JSON lines; the fields that apply to an event's kind are written even
// when zero. JournalLimit keeps only the newest events in memory
// (JournalDropped counts the others) and OnJournal hands every event to a
// hook as it is recorded, for a run too long to keep it all (kafkaemu
// serve -journal-max and -journal).
//
// # Authentication
//
// SASL makes the brokers require SASL/PLAIN or SCRAM, as Kafka 4.0 does
// it (SaslHandshake v1 only); fake's own connections authenticate as a
// user of their own. TLS makes the client-facing listeners TLS
// listeners (fake talks plaintext to kfake behind them); Cluster.TLSConfig
// is a client config that trusts the certificate.
//
// PartitionLog reads a partition's log back inside the process (aborted
// records marked): no client connection, so the journal shows no fetch
// and network faults and down brokers do not stand in its way. Groups and
// Group list the groups with their members, assignments and commits.
//
// InjectError is kfake's own error-code injection (kfake.Fault), journaled
// like the network faults; errors injected through Kfake().Fault directly
// are kfake's and the journal does not see them.
//
// # Determinism
//
// Every random choice (replica placement, jitter, drop probability) flows
// from the cluster's seed (Seed option; Cluster.Seed reports it). Leader
// election is Kafka's own rule: the first live in-sync replica in
// assignment order.
package fake
