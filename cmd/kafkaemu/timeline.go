package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/timeline"
)

// timeline prints a journal (JSON lines from GET /journal or
// Cluster.WriteJournal) as a readable timeline, or with -html writes it
// as a timeline page.
func timelineCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kinds := fs.String("kind", "", "only these event kinds, comma-separated (append,fetch,leader-change,...)")
	topic := fs.String("topic", "", "only events of this topic")
	group := fs.String("group", "", "only events of this group")
	html := fs.String("html", "", "write the timeline as an HTML page to this file (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("usage: kafkaemu timeline [-kind K,...] [-topic T] [-group G] [-html FILE|-] [FILE | -]")
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
	evs, readErr := journal.Read(in)
	if readErr != nil && *html == "" {
		return fmt.Errorf("%s: %w", name, readErr)
	}
	var want []journal.EventKind
	for k := range strings.SplitSeq(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			want = append(want, journal.EventKind(k))
		}
	}
	evs = slices.DeleteFunc(evs, func(e journal.Event) bool {
		return (len(want) > 0 && !slices.Contains(want, e.Kind)) ||
			(*topic != "" && e.Topic != *topic) || (*group != "" && e.Group != *group)
	})
	if *html == "" {
		_, err := io.WriteString(stdout, journal.Timeline(evs))
		return err
	}
	if readErr != nil { // the page draws what was read and names the bad line
		fmt.Fprintf(stderr, "kafkaemu timeline: %s: %v; the page draws the %d events read\n", name, readErr, len(evs))
	}
	page := timeline.Page{Title: "kafkaemu timeline of " + name, Events: evs, Err: readErr}
	if *html == "-" {
		w := bufio.NewWriter(stdout)
		if err := page.WriteHTML(w); err != nil {
			return err
		}
		return w.Flush()
	}
	f, err := os.Create(*html)
	if err != nil {
		return err
	}
	if err := page.WriteHTML(f); err != nil {
		f.Close()
		return fmt.Errorf("-html %s: %w", *html, err)
	}
	return f.Close()
}
