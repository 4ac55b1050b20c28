// Package timeline draws a kafkaemu journal as one self-contained HTML
// page: look at a run rather than read it.
//
// The page is a single file (inline SVG and CSS, a few lines of plain
// JavaScript for hovering, nothing fetched from the network) with one
// time axis and these lanes:
//
//   - faults: each fault from added to removed, with its hits; its band
//     shades the broker and partition lanes it hits;
//   - one per broker: up, down, paused (as a follower), isolated (a
//     network partition, a split brain), fenced by the controller;
//   - one per partition: the leader and its epoch as segments coloured by
//     broker, the ISR size, the high watermark and the log end as lines,
//     appends as ticks on an offset axis (coloured by acks), truncations
//     (dropped un-replicated tails) in red, refused writes, replication
//     pauses, and Marks: the anomalies a checker found, at their offsets;
//   - one per group: generations, members joining, leaving, expiring,
//     forced rebalances, coordinator moves, commits;
//   - transactions: one row per producer id, each transaction from its
//     first write to its commit (green) or abort (red), with producer
//     initialisations and fenced writes.
//
// The time axis gives up to half its width to time and the rest to the
// order of the journal, so that a burst of events at one instant (the
// virtual clock of a synctest bubble stands still while the cluster
// works) still spreads out; a run on a virtual clock is drawn in journal
// order, its labels at the instants the clock moved.
//
// Hovering over anything shows the journal event behind it. A lane with
// more than a few thousand events draws them aggregated per pixel column
// (the hover text then counts them), so a million-event journal makes a
// page of a few megabytes that a browser opens in about a second.
//
// Read reads a journal of JSON lines and keeps what it could read: the
// page of a truncated or foreign file draws the events read and names the
// first bad line (Page.Err). An empty journal makes a page that says so.
//
// kafkaemu timeline -html FILE and kafkaemu serve's GET /timeline.html
// write these pages; harness writes one, with each anomaly explained by
// its cause, when a test fails, and scenarios one per scenario.
package timeline
