package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/seed73168108/kafkaemu/fake"
)

// timeline prints a journal (JSON lines from GET /journal or
// Cluster.WriteJournal) as a readable timeline.
func timeline(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kinds := fs.String("kind", "", "only these event kinds, comma-separated (append,fetch,leader-change,...)")
	topic := fs.String("topic", "", "only events of this topic")
	group := fs.String("group", "", "only events of this group")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("usage: kafkaemu timeline [-kind K,...] [-topic T] [-group G] [FILE | -]")
	}
	in, name := stdin, "standard input"
	if p := fs.Arg(0); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, p
	}
	evs, err := fake.ReadJournal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var want []fake.EventKind
	for k := range strings.SplitSeq(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			want = append(want, fake.EventKind(k))
		}
	}
	evs = slices.DeleteFunc(evs, func(e fake.Event) bool {
		return (len(want) > 0 && !slices.Contains(want, e.Kind)) ||
			(*topic != "" && e.Topic != *topic) || (*group != "" && e.Group != *group)
	})
	_, err = io.WriteString(stdout, fake.Timeline(evs))
	return err
}
