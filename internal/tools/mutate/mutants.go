package main

// mutants is the curated list of planted bugs. Each names the tests that
// must catch it, narrowly, so that a run takes minutes. The first ones are
// the bugs issue 15 found surviving the whole suite; the rest guard other
// promises of the docs.
func mutants() []mutant {
	var ms []mutant

	// A fault verb the scenario runner silently stops applying: the
	// run's journal evidence check (scenarios/evidence.go) must fail the
	// scenario that uses it.
	noop := func(verb, pkgRun string) mutant {
		return mutant{
			name: "scenarios/noop-" + verb,
			bug:  "the runner's " + verb + " does nothing and reports success",
			edits: []edit{{
				file: "scenarios/run.go",
				old:  "func (r *run) apply(f Fault) (func() error, error) {\n",
				new:  "func (r *run) apply(f Fault) (func() error, error) {\n\tif f.Verb == \"" + verb + "\" {\n\t\treturn nil, nil\n\t}\n",
			}},
			pkgs: []string{"./scenarios"},
			run:  pkgRun,
		}
	}
	const everyOther = "TestRunnerVerbs/^every-other-verb$"
	for _, v := range []string{"latency", "close-connections", "blackhole", "network-partition", "inject-error",
		"join-phantom", "leave-phantom", "expire-member", "drop-responses", "pause-replication"} {
		ms = append(ms, noop(v, everyOther))
	}
	ms = append(ms,
		// transactional-pipeline-fencing's rebalances >= 1 held without its rebalance.
		noop("rebalance", "TestLibrary/^transactional-pipeline-fencing$"),
		noop("fail-leader", "TestLibrary/^acks1-leader-loss$"),
		noop("kill-broker", "TestLibrary/^broker-crash-restart$"),
		noop("move-coordinator", "TestLibrary/^coordinator-move$"),
		noop("fence-producer", "TestRunnerVerbs/^fence-producer$"),
		noop("isolate-broker", "TestLibrary/^split-brain-acks1$"),
		noop("heal", "TestLibrary/^split-brain-acks-all$"),
		mutant{
			name: "scenarios/evidence-ignored",
			bug:  "the runner does not report faults without effect",
			edits: []edit{{file: "scenarios/run.go",
				old: "\tfailed = append(failed, noEffect...)\n",
				new: "\t_ = noEffect\n"}},
			pkgs: []string{"./scenarios"},
			run:  "TestFaultWithoutEffectFails",
		},
		mutant{
			name: "scenarios/rebalances-zero",
			bug:  "the rebalances expectation counts no generation",
			edits: []edit{{file: "scenarios/run.go",
				old: "\treturn len(gens)\n}",
				new: "\treturn 0\n}"}},
			pkgs: []string{"./scenarios"},
			run:  "TestLibrary/^transactional-pipeline-fencing$",
		},
	)

	// fake: the replication model's promises (fake/doc.go).
	ms = append(ms,
		mutant{
			name: "fake/no-not-enough-replicas-after-append",
			bug:  "a waiting acks=all write is answered OK when the ISR shrank below min.insync.replicas",
			edits: []edit{{file: "fake/replication.go",
				old: "\t\t\t\tcode = kerr.NotEnoughReplicasAfterAppend.Code\n",
				new: "\t\t\t\tcode = 0\n"}},
			pkgs: []string{"./harness"},
			run:  "TestNotEnoughReplicasAfterAppend",
		},
		mutant{
			name: "fake/acks-all-answered-from-tail",
			bug:  "acks=all writes are acknowledged from the leader's un-replicated tail",
			edits: []edit{{file: "fake/produce.go",
				old: "\tif req.Acks != -1 {\n\t\tr.resolveLocked(0, tb.base)",
				new: "\tif req.Acks != -1 || true {\n\t\tr.resolveLocked(0, tb.base)"}},
			pkgs: []string{"./harness"},
			run:  "TestAcksAllWaitsForPausedFollowers",
		},
		mutant{
			name: "fake/failover-keeps-tail",
			bug:  "a failed leader's un-replicated tail survives on the new leader (nothing is lost)",
			edits: []edit{{file: "fake/replication.go",
				old: "\tc.dropTailLocked(p, kerr.NotLeaderForPartition, why+\" before followers copied these\", true)\n",
				new: "\t_ = why\n"}},
			pkgs: []string{"./scenarios", "./fake"},
			run:  "TestLibrary/^acks0-leader-loss$|TestPropertyAcksAllIdempotentNeverLoses",
		},
		mutant{
			name: "fake/isr-never-shrinks",
			bug:  "followers that stopped copying never leave the ISR",
			edits: []edit{{file: "fake/replication.go",
				old: "p.isr = slices.DeleteFunc(p.isr, func(r int32) bool { return r != p.leader && c.followerPausedLocked(p, r) })",
				new: "p.isr = slices.DeleteFunc(p.isr, func(r int32) bool { return false })"}},
			pkgs: []string{"./scenarios", "./harness"},
			run:  "TestLibrary/^min-insync-not-met$|TestNotEnoughReplicasAfterAppend",
		},
		mutant{
			name: "fake/tail-retry-not-deduplicated",
			bug:  "an idempotent retry of a batch still in the tail is appended again",
			edits: []edit{{file: "fake/produce.go",
				old: "\tif hdr.producerID >= 0 {\n\t\tfor _, tb := range p.tail {",
				new: "\tif hdr.producerID >= 0 && false {\n\t\tfor _, tb := range p.tail {"}},
			pkgs: []string{"./harness"},
			run:  "TestAcksAllWaitsForPausedFollowers",
		},
		mutant{
			name: "fake/property-test-failover-noop",
			bug:  "the acks=all property test's failover does nothing (its faults have no effect)",
			edits: []edit{{file: "fake/property_test.go",
				old: "\t\tl, err := c.FailLeader(\"p\", tail.Partition)\n",
				new: "\t\tl, err := tail.Partition, error(nil)\n"}},
			pkgs: []string{"./fake"},
			run:  "TestPropertyAcksAllIdempotentNeverLoses",
		},
		mutant{
			name: "fake/property-seeds-unchecked",
			bug:  "KAFKAEMU_SEEDS=abc runs zero seeds and passes",
			edits: []edit{{file: "fake/property_test.go",
				old: "\t\tif err != nil || n < 1 {\n",
				new: "\t\tif _ = err; false {\n"}},
			pkgs: []string{"./fake"},
			run:  "TestPropertySeedsEnv",
		},
	)

	// fake: the split brain's promises (fake.Isolate's doc).
	const splitBrain = "TestIsolatedLeaderSplitBrainAcks1|TestIsolatedLeaderAcksAllLosesNothing|TestFencedBrokerServesOnlyBelowItsHighWatermark|TestFencedCoordinatorRefusesCommits"
	ms = append(ms,
		mutant{
			name: "fake/isolated-leader-shrinks-isr",
			bug:  "an isolated leader shrinks its ISR without the controller, so it commits acks=all writes alone",
			edits: []edit{{file: "fake/replication.go",
				old: "\t\tif c.isolationOfLocked(p.leader) != nil {\n",
				new: "\t\tif c.isolationOfLocked(p.leader) != nil && false {\n"}},
			pkgs: []string{"./fake"},
			run:  splitBrain,
		},
		mutant{
			name: "fake/never-fenced",
			bug:  "the controller never fences an isolated broker",
			edits: []edit{{file: "fake/isolate.go",
				old: "\tif c.closed || iso.fenced || !slices.Contains(c.isolations, iso) {\n",
				new: "\tif true {\n"}},
			pkgs: []string{"./fake"},
			run:  "TestFencedCoordinatorRefusesCommits",
		},
		mutant{
			name: "fake/fenced-keeps-coordinators",
			bug:  "a fenced broker stays eligible: its groups' coordinators do not move",
			edits: []edit{{file: "fake/isolate.go",
				old: "return b != nil && b.up && !b.fenced }",
				new: "return b != nil && b.up }"}},
			pkgs: []string{"./fake"},
			run:  "TestFencedCoordinatorRefusesCommits",
		},
		mutant{
			name: "fake/fenced-broker-refuses-writes",
			bug:  "a fenced broker answers NOT_LEADER_OR_FOLLOWER instead of acknowledging from its stale view",
			edits: []edit{{file: "fake/isolate.go",
				old: "\treturn p.stale[node] != nil\n",
				new: "\treturn false\n"}},
			pkgs: []string{"./fake"},
			run:  splitBrain,
		},
		mutant{
			name: "fake/fenced-broker-serves-past-its-high-watermark",
			bug:  "a fenced broker serves the new leader's records past its own high watermark",
			edits: []edit{{file: "fake/fence.go",
				old: "\t\tif size < 12 || size > len(rest) || int64(binary.BigEndian.Uint64(rest[0:8])) >= end {\n",
				new: "\t\tif size < 12 || size > len(rest) {\n"}},
			pkgs: []string{"./fake"},
			run:  splitBrain,
		},
		mutant{
			name: "fake/isolated-metadata-is-current",
			bug:  "an isolated broker answers the controller's current metadata, not its stale view",
			edits: []edit{{file: "fake/isolate.go",
				old: "\t\tiso := c.isolationOfLocked(node)\n\t\tif iso == nil {\n",
				new: "\t\tiso := c.isolationOfLocked(node)\n\t\tif iso == nil || true {\n"}},
			pkgs: []string{"./fake"},
			run:  splitBrain,
		},
		mutant{
			name: "fake/heal-truncates-silently",
			bug:  "a healed broker drops its divergent tail without journaling the truncation",
			edits: []edit{{file: "fake/isolate.go",
				old: "\tif len(s.tail) > 0 {\n\t\t_, end := p.endOffsetFor(s.epoch, s.hw)\n",
				new: "\tif len(s.tail) > 0 && false {\n\t\t_, end := p.endOffsetFor(s.epoch, s.hw)\n"}},
			pkgs: []string{"./fake"},
			run:  splitBrain,
		},
		mutant{
			name: "fake/returning-sole-replica-truncated",
			bug:  "a sole replica that returns from a fence loses its writes (its tail is truncated like a divergent one)",
			edits: []edit{{file: "fake/isolate.go",
				old: "\t\t\tif p.leader < 0 && slices.Contains(p.isr, b) {\n",
				new: "\t\t\tif false {\n"}},
			pkgs: []string{"./fake"},
			run:  "TestFencedSoleReplicaReturnsWithItsWrites",
		},
		mutant{
			name: "fake/pause-outlives-failover-silently",
			bug:  "the leader change does not say that PauseReplication outlives it",
			edits: []edit{{file: "fake/isolate.go",
				old: "\tif p.paused && p.leader >= 0 {\n",
				new: "\tif false {\n"}},
			pkgs: []string{"./fake"},
			run:  "TestPauseReplicationOutlivesFailover",
		},
	)

	// assertions: the checker and the guarantees.
	ms = append(ms,
		mutant{
			name: "assertions/exactly-once-allows-nonmonotonic-poll",
			bug:  "ExactlyOnceForbids lacks nonmonotonic-poll",
			edits: []edit{{file: "assertions/assert.go",
				old: "PollSkip, NonmonotonicPoll, IntPollSkip, IntNonmonotonicPoll}",
				new: "PollSkip, IntPollSkip, IntNonmonotonicPoll}"}},
			pkgs: []string{"./assertions"},
			run:  ".",
		},
		mutant{
			name: "assertions/at-least-once-allows-unseen",
			bug:  "AtLeastOnceForbids lacks unseen",
			edits: []edit{{file: "assertions/assert.go",
				old: "AtLeastOnceForbids = []Anomaly{LostWrite, Unseen, PollSkip, IntPollSkip}",
				new: "AtLeastOnceForbids = []Anomaly{LostWrite, PollSkip, IntPollSkip}"}},
			pkgs: []string{"./assertions"},
			run:  ".",
		},
		mutant{
			name: "assertions/check-finds-nothing",
			bug:  "Check returns an empty report",
			edits: []edit{{file: "assertions/check.go",
				old: "r := Report{Events: c.kept, Findings: c.found}",
				new: "r := Report{Events: c.kept, Findings: map[Anomaly][]Finding{}}"}},
			pkgs: []string{"./assertions"},
			run:  "FuzzCheck|TestCheckRepeatable",
		},
		mutant{
			name: "assertions/no-duplicates-found",
			bug:  "Check never reports duplicate",
			edits: []edit{{file: "assertions/checker.go",
				old: "func (c *checker) checkDuplicates() {\n",
				new: "func (c *checker) checkDuplicates() {\n\tif true {\n\t\treturn\n\t}\n"}},
			pkgs: []string{"./assertions"},
			run:  "FuzzCheckPlanted|TestCheckFindsPlanted",
		},
	)

	// proxy: clients stay behind it, and its journal says what the
	// upstream did (proxy/doc.go).
	const behind = "TestClientsStayBehind"
	ms = append(ms,
		mutant{
			name: "proxy/leader-hint-passes",
			bug:  "a produce answer naming the new leader (KIP-951) reaches the client unrewritten",
			edits: []edit{{file: "proxy/produce.go",
				old: "\tif len(resp.Brokers) == 0 {\n",
				new: "\tif true || len(resp.Brokers) == 0 {\n"}},
			pkgs: []string{"./proxy"},
			run:  behind,
		},
		mutant{
			name: "proxy/fetch-not-clamped",
			bug:  "clients are offered Fetch v16+, whose answers name brokers the proxy streams unrewritten",
			edits: []edit{{file: "proxy/proxy.go",
				old: "k.MaxVersion = min(k.MaxVersion, maxFetchVersion)",
				new: "_ = maxFetchVersion"}},
			pkgs: []string{"./proxy"},
			run:  behind,
		},
		mutant{
			name: "proxy/metadata-not-rewritten",
			bug:  "Metadata answers name the upstream's brokers",
			edits: []edit{{file: "proxy/route.go",
				old: "\t\tb.Host, b.Port = host, port\n\t}\n\tp.mu.Lock()",
				new: "\t\t_, _ = host, port\n\t}\n\tp.mu.Lock()"}},
			pkgs: []string{"./proxy"},
			run:  behind,
		},
		mutant{
			name: "proxy/appends-not-journaled",
			bug:  "the journal misses what the upstream appended",
			edits: []edit{{file: "proxy/produce.go",
				old: "\t\t\tp.journal.Add(observe.Append(src, req, name, rp.Partition, b, rp.BaseOffset))",
				new: "\t\t\t_ = observe.Append"}},
			pkgs: []string{"./proxy"},
			run:  "TestProduceConsume|TestDialContext",
		},
		mutant{
			name: "proxy/retry-journaled-twice",
			bug:  "an idempotent retry the upstream answers from its log is journaled as a second append",
			edits: []edit{{file: "proxy/produce.go",
				old: "\tif prev, ok := p.appended[k]; ok && prev == base {\n\t\treturn true\n\t}",
				new: "\tif prev, ok := p.appended[k]; ok && prev == base {\n\t\treturn false\n\t}"}},
			pkgs: []string{"./proxy"},
			run:  "TestDroppedProduceResponseDuplicates",
		},
	)
	return ms
}
