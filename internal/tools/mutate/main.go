// Command mutate is kafkaemu's mutation test: it plants each bug of a
// curated list (a small textual patch) in a copy of the source tree, runs
// the tests that should catch it, and reports which bugs were caught and
// which survived, with a score. The checkout is never modified.
//
// Run it from the repository root (or through .ci/mutate):
//
//	go run ./internal/tools/mutate            # every mutant
//	go run ./internal/tools/mutate -run noop  # mutants whose name matches
//	go run ./internal/tools/mutate -list      # the list, without running
//
// Before the mutants, the tests they use run once on the unmodified copy
// (the baseline): a test that fails without a bug cannot tell anything,
// so mutate stops there. A mutant whose patch no longer applies (the code
// it patches changed) or that does not compile is reported as invalid,
// which fails the run like a survivor: update the list (mutants.go).
// docs/testing.md explains how to add one.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// edit replaces old, which must occur exactly once in file, with new.
type edit struct {
	file, old, new string
}

// mutant is one planted bug and the tests that must catch it.
type mutant struct {
	name  string // short and unique, area/what
	bug   string // what the bug is, in words
	edits []edit
	pkgs  []string // package patterns to test
	run   string   // go test -run regexp
}

type result string

const (
	caught   result = "caught"
	survived result = "SURVIVED"
	invalid  result = "INVALID"
)

func main() {
	var (
		only    = flag.String("run", "", "run only the mutants whose name matches this regexp")
		list    = flag.Bool("list", false, "list the mutants and exit")
		verbose = flag.Bool("v", false, "print the test output of every mutant, not only of survivors and invalid ones")
		keep    = flag.Bool("keep", false, "keep the copy of the tree (its path is printed)")
		timeout = flag.Duration("timeout", 5*time.Minute, "go test -timeout for each run")
	)
	flag.Parse()
	ms := mutants()
	if err := validate(ms); err != nil {
		fatal(err)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fatal(fmt.Errorf("-run %q: %v", *only, err))
		}
		ms = slices.DeleteFunc(ms, func(m mutant) bool { return !re.MatchString(m.name) })
		if len(ms) == 0 {
			fatal(fmt.Errorf("-run %q matches no mutant (-list lists them)", *only))
		}
	}
	if *list {
		for _, m := range ms {
			fmt.Printf("%-34s %s\n%-34s go test -run '%s' %s\n", m.name, m.bug, "", m.run, strings.Join(m.pkgs, " "))
		}
		return
	}
	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		fatal(fmt.Errorf("run mutate from the repository root (no go.mod in %s)", root))
	}
	tmp, err := os.MkdirTemp("", "kafkaemu-mutate-")
	if err != nil {
		fatal(err)
	}
	if *keep {
		fmt.Println("copy of the tree:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if err := copyTree(root, tmp); err != nil {
		fatal(err)
	}

	// Baseline: every test command the mutants use passes without a bug.
	seen := map[string]bool{}
	for _, m := range ms {
		key := m.run + " " + strings.Join(m.pkgs, " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		out, err := goTest(tmp, m, *timeout)
		if err != nil {
			fmt.Printf("baseline: go test -run '%s' %s fails without any mutant:\n%s\n", m.run, strings.Join(m.pkgs, " "), out)
			os.Exit(2)
		}
	}
	fmt.Printf("baseline: %d test commands pass\n\n", len(seen))

	counts := map[result]int{}
	for _, m := range ms {
		start := time.Now()
		res, out := runMutant(tmp, m, *timeout)
		counts[res]++
		fmt.Printf("%-9s %-34s %6.1fs  %s\n", res, m.name, time.Since(start).Seconds(), m.bug)
		if res != caught || *verbose {
			fmt.Println(indent(out))
		}
	}
	total := len(ms)
	fmt.Printf("\nscore: %d/%d caught (%.0f%%)", counts[caught], total, 100*float64(counts[caught])/float64(total))
	if counts[survived] > 0 || counts[invalid] > 0 {
		fmt.Printf(", %d survived, %d invalid\n", counts[survived], counts[invalid])
		os.Exit(1)
	}
	fmt.Println()
}

// runMutant plants m in the copy at dir, runs its tests and restores the
// files it patched.
func runMutant(dir string, m mutant, timeout time.Duration) (result, string) {
	originals := map[string][]byte{}
	defer func() {
		for file, b := range originals {
			if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
				fatal(fmt.Errorf("restoring %s: %v", file, err))
			}
		}
	}()
	for _, e := range m.edits {
		path := filepath.Join(dir, e.file)
		b, err := os.ReadFile(path)
		if err != nil {
			return invalid, err.Error()
		}
		if _, ok := originals[e.file]; !ok {
			originals[e.file] = b
		}
		if n := bytes.Count(b, []byte(e.old)); n != 1 {
			return invalid, fmt.Sprintf("%s: the text to replace occurs %d times, want once (the code changed: update the mutant):\n%s", e.file, n, e.old)
		}
		b = bytes.Replace(b, []byte(e.old), []byte(e.new), 1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return invalid, err.Error()
		}
	}
	out, err := goTest(dir, m, timeout)
	switch {
	case err == nil:
		return survived, out
	case strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]"):
		return invalid, out
	}
	return caught, out
}

// goTest runs m's tests in dir.
func goTest(dir string, m mutant, timeout time.Duration) (string, error) {
	args := append([]string{"test", "-count=1", "-vet=off", "-timeout", timeout.String(), "-run", m.run}, m.pkgs...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// copyTree copies the source tree at src to dst, without .git and
// node_modules.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		info, err := in.Stat()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// validate checks the list itself: unique names, and every mutant has
// edits and tests.
func validate(ms []mutant) error {
	var errs []error
	names := map[string]bool{}
	for _, m := range ms {
		if names[m.name] {
			errs = append(errs, fmt.Errorf("mutant %s is listed twice", m.name))
		}
		names[m.name] = true
		if len(m.edits) == 0 || len(m.pkgs) == 0 || m.run == "" {
			errs = append(errs, fmt.Errorf("mutant %s needs edits, packages and a -run regexp", m.name))
		}
		for _, e := range m.edits {
			if e.old == e.new {
				errs = append(errs, fmt.Errorf("mutant %s: an edit of %s changes nothing", m.name, e.file))
			}
		}
	}
	return errors.Join(errs...)
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = append(lines[:40], fmt.Sprintf("... %d more lines", len(lines)-40))
	}
	return "    " + strings.Join(lines, "\n    ")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(2)
}
