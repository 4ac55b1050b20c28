package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest scenario file Parse accepts, in bytes.
const MaxFileSize = 1 << 20

// maxNodes bounds the YAML nodes a file may expand to, counting every use
// of an alias as a copy of what it names, so that "billion laughs" files
// fail fast instead of exhausting memory.
const maxNodes = 100_000

// Parse parses and validates the scenario in data; filename is used in
// positions only. Every problem found is reported, as an ErrorList sorted
// by position.
func Parse(filename string, data []byte) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, tooBig(filename, int64(len(data)))
	}
	root, err := parseYAML(filename, data)
	if err != nil {
		return nil, err
	}
	if n := expandedSize(root, map[*yaml.Node]int{}, map[*yaml.Node]bool{}); n > maxNodes {
		return nil, ErrorList{{Pos: Pos{filename, 1, 1}, Msg: fmt.Sprintf(
			"the document expands to more than %d YAML nodes (aliases count once per use); expected a small scenario", maxNodes)}}
	}
	d := &decoder{file: filename}
	return d.decode(root)
}

func tooBig(filename string, size int64) error {
	return ErrorList{{Pos: Pos{filename, 1, 1}, Msg: fmt.Sprintf(
		"the file is %d bytes; expected at most %d (1 MiB): scenario files are small", size, MaxFileSize)}}
}

// maxErrors is how many errors Parse reports before it stops looking.
const maxErrors = 50

// tooManyErrors is panicked by errorf to stop decoding at maxErrors.
type tooManyErrors struct{}

// decode decodes the scenario rooted at root, returning the errors found.
func (d *decoder) decode(root *yaml.Node) (s *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(tooManyErrors); !ok {
				panic(r)
			}
			s = nil
		}
		if len(d.errs) > 0 {
			d.errs.sort()
			if len(d.errs) >= maxErrors {
				last := d.errs[len(d.errs)-1]
				d.errs = append(d.errs, &Error{Pos: last.Pos, Msg: fmt.Sprintf(
					"too many errors, stopped after %d; expected fewer: fix these and parse again", maxErrors)})
			}
			s, err = nil, d.errs
		}
	}()
	return d.scenario(root), nil
}

// Load reads and parses the scenario file at path.
func Load(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		size := int64(len(data))
		if info, err := f.Stat(); err == nil {
			size = info.Size()
		}
		return nil, tooBig(path, size)
	}
	return Parse(path, data)
}

// LoadDir loads every *.yaml and *.yml file in dir (not its subdirectories),
// sorted by file name. It returns the scenarios that parsed and an error
// listing every problem in the others, including two files with one name.
func LoadDir(dir string) ([]*Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var (
		out   []*Scenario
		errs  ErrorList
		other []error
		names = map[string]*Scenario{}
	)
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		s, err := Load(filepath.Join(dir, e.Name()))
		var list ErrorList
		switch {
		case errors.As(err, &list):
			errs = append(errs, list...)
			continue
		case err != nil:
			other = append(other, err)
			continue
		}
		if first, dup := names[s.Name]; dup {
			errs = append(errs, &Error{Pos: s.Pos, Msg: fmt.Sprintf(
				"scenario name %q is already used by %s; expected unique names", s.Name, first.Pos)})
			continue
		}
		names[s.Name] = s
		out = append(out, s)
	}
	if len(errs) == 0 {
		return out, errors.Join(other...)
	}
	errs.sort()
	if len(other) == 0 {
		return out, errs
	}
	return out, errors.Join(append(other, errs)...)
}

// parseYAML parses a single YAML document into its root node.
func parseYAML(filename string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrorList{{Pos: Pos{filename, 1, 1}, Msg: "the file is empty; expected a scenario mapping with name, cluster, topics, workload and expect"}}
		}
		return nil, ErrorList{yamlError(filename, err)}
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		switch {
		case errors.Is(err, io.EOF):
		case err != nil:
			return nil, ErrorList{yamlError(filename, err)}
		case isEmptyDocument(&next):
			continue // a stray "---" is harmless
		default:
			return nil, ErrorList{{Pos: Pos{filename, max(next.Line, 1), max(next.Column, 1)},
				Msg: "a second YAML document; expected one scenario per file"}}
		}
		break
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, ErrorList{{Pos: Pos{filename, 1, 1}, Msg: "the file holds no YAML document; expected a scenario mapping"}}
	}
	return doc.Content[0], nil
}

func isEmptyDocument(doc *yaml.Node) bool {
	if len(doc.Content) != 1 {
		return len(doc.Content) == 0
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Value == "" && n.Anchor == ""
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError turns a YAML syntax error into an Error; the YAML parser gives
// a line but no column.
func yamlError(filename string, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &Error{Pos: Pos{filename, line, 1}, Msg: "invalid YAML: " + msg + "; expected well-formed YAML (check indentation and quoting)"}
}

// expandedSize counts the nodes under n with every alias expanded, stopping
// early past maxNodes. Sizes are memoised per node so that counting itself
// stays linear in the file.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, active map[*yaml.Node]bool) int {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		return v
	}
	if active[n] {
		return maxNodes + 1 // a cycle expands forever
	}
	active[n] = true
	defer delete(active, n)
	size := 1
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo, active)
	}
	for _, c := range n.Content {
		if size > maxNodes {
			break
		}
		size += expandedSize(c, memo, active)
	}
	size = min(size, maxNodes+1)
	memo[n] = size
	return size
}

// decoder walks the node tree, collecting errors as it goes.
type decoder struct {
	file string
	errs ErrorList

	// What was declared, for checking references. A declaration with
	// errors is still recorded by name, so that one mistake is not
	// reported again at every use.
	brokers        int // 0 while unknown
	topicByName    map[string]Topic
	producerByName map[string]Producer
	consumerByName map[string]Consumer
	pipelineByName map[string]Pipeline
	groupKind      map[string]string // group -> "consumer" or "pipeline"
	// recordsUnknown names the producers whose record count did not
	// decode: a trigger counting their acks is not judged reachable.
	recordsUnknown map[string]bool
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
	if len(d.errs) >= maxErrors {
		panic(tooManyErrors{})
	}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names what a node holds, for messages: `"abc"`, `12`, `a list`.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!str":
			return strconv.Quote(truncate(n.Value))
		}
		return truncate(n.Value)
	}
	return "not a value"
}

func truncate(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// mapping is a decoded YAML mapping whose keys were checked against the
// ones allowed.
type mapping struct {
	node *yaml.Node
	keys map[string]*yaml.Node // key name -> key node
	vals map[string]*yaml.Node // key name -> value node
	// guessed holds the keys that unknown keys were taken for ("partitons"
	// suggests "partitions"), so a misspelt key is not also reported missing.
	guessed map[string]bool
	merged  bool // has a merge key, so missing keys are not reported either
}

func (m *mapping) has(key string) bool { return m.vals[key] != nil }

// mapping checks that n is a mapping without duplicate or unknown keys.
// what names it in messages ("topic", "fault"). It returns nil, having
// reported why, when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, what string, allowed []string) *mapping {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s is %s; expected a mapping with keys %s", what, describe(n), strings.Join(allowed, ", "))
		return nil
	}
	m := &mapping{node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}, guessed: map[string]bool{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, "%s has %s as a key; expected key names", what, describe(k))
		case k.ShortTag() == "!!merge":
			d.errorf(k, "merge keys (<<) are not supported; expected the keys written out")
			m.merged = true
		case m.keys[k.Value] != nil:
			d.errorf(k, "duplicate key %q in %s; it was first given at line %d", truncate(k.Value), what, m.keys[k.Value].Line)
		case !slices.Contains(allowed, k.Value):
			if alt := keyAliases[k.Value]; alt != "" && slices.Contains(allowed, alt) {
				d.errorf(k, "unknown key %q in %s; did you mean %q?", k.Value, what, alt)
				m.guessed[alt] = true
				continue
			}
			d.errorf(k, "unknown key %q in %s%s", truncate(k.Value), what, didYouMean(k.Value, allowed))
			if guess, ok := closest(k.Value, allowed); ok {
				m.guessed[guess] = true
			}
		default:
			m.keys[k.Value], m.vals[k.Value] = k, v
		}
	}
	return m
}

// keyAliases are names people reach for that the format spells otherwise.
var keyAliases = map[string]string{
	"duration":     "delay",
	"latency":      "delay",
	"verb":         "do",
	"at":           "after",
	"when":         "after",
	"replication":  "replicas",
	"rf":           "replicas",
	"config":       "configs",
	"expectations": "expect",
	"txn_id":       "transactional_id",
}

// missing reports whether key is absent from m, and so should be reported:
// a key that an unknown key was probably meant as is not.
func (m *mapping) missing(key string) bool {
	return !m.has(key) && !m.guessed[key] && !m.merged
}

// require reports each key missing from m. It returns whether all are there.
func (d *decoder) require(m *mapping, what string, keys ...string) bool {
	ok := true
	for _, k := range keys {
		if !m.has(k) {
			ok = false
			if m.missing(k) {
				d.errorf(m.node, "%s is missing %q; expected %s", what, k, help[k])
			}
		}
	}
	return ok
}

// valueOf returns the value of key in mapping n, or n itself.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return n
}

// help says what a key expects, for "missing" messages.
var help = map[string]string{
	"name":       "a name made of letters, digits, '.', '_' and '-'",
	"cluster":    "a mapping like {brokers: 3}",
	"topics":     "a list of topics like {name: orders, partitions: 3, replicas: 3}",
	"workload":   "a mapping with producers, consumers and/or pipelines",
	"expect":     "a list of expectations like {lost-write: 0}",
	"brokers":    "a whole number of brokers >= 1",
	"partitions": "a whole number of partitions >= 1",
	"replicas":   "a whole number of replicas >= 1",
	"topic":      "the name of a topic declared under topics",
	"records":    "the whole number of records to produce, >= 1",
	"group":      "a consumer group name",
	"input":      "the name of the topic the pipeline consumes",
	"output":     "the name of the topic the pipeline produces to",
}

// scalar checks that n is a non-null scalar.
func (d *decoder) scalar(n *yaml.Node, key, expected string) (*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "%s is %s; expected %s", key, describe(n), expected)
		return n, false
	}
	return n, true
}

// str decodes a string. Numbers are taken as written (a topic may be
// called 2024); booleans are refused, since a bare yes/no is a mistake.
func (d *decoder) str(n *yaml.Node, key, expected string) (string, bool) {
	n, ok := d.scalar(n, key, expected)
	if !ok {
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
		if n.Value == "" {
			d.errorf(n, "%s is empty; expected %s", key, expected)
			return "", false
		}
		return n.Value, true
	}
	d.errorf(n, "%s is %s; expected %s", key, describe(n), expected)
	return "", false
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// name decodes a name of a scenario, client or group.
func (d *decoder) name(n *yaml.Node, key string) (string, bool) {
	const expected = "a name made of letters, digits, '.', '_' and '-'"
	s, ok := d.str(n, key, expected)
	if !ok {
		return "", false
	}
	if !namePattern.MatchString(s) || len(s) > 249 {
		d.errorf(resolve(n), "%s %q is not a valid name; expected %s, at most 249 long", key, truncate(s), expected)
		return "", false
	}
	return s, true
}

// integer decodes a whole number in [lo, hi].
func (d *decoder) integer(n *yaml.Node, key string, lo, hi int64) (int64, bool) {
	expected := fmt.Sprintf("a whole number >= %d", lo)
	if lo == math.MinInt64 {
		expected = "a whole number"
	} else if hi < 1<<62 {
		expected = fmt.Sprintf("a whole number from %d to %d", lo, hi)
	}
	n, ok := d.scalar(n, key, expected)
	if !ok {
		return 0, false
	}
	if n.ShortTag() != "!!int" {
		d.errorf(n, "%s is %s; expected %s", key, describe(n), expected)
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.errorf(n, "%s %s is out of range; expected %s", key, truncate(n.Value), expected)
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, "%s is %d; expected %s", key, v, expected)
		return 0, false
	}
	return v, true
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, key string) (bool, bool) {
	n, ok := d.scalar(n, key, "true or false")
	if !ok {
		return false, false
	}
	if n.ShortTag() != "!!bool" {
		d.errorf(n, "%s is %s; expected true or false", key, describe(n))
		return false, false
	}
	v, err := strconv.ParseBool(strings.ToLower(n.Value))
	if err != nil {
		d.errorf(n, "%s is %s; expected true or false", key, describe(n))
		return false, false
	}
	return v, true
}

// duration decodes a Go duration such as 300ms; positive requires > 0,
// otherwise >= 0 is accepted.
func (d *decoder) duration(n *yaml.Node, key string, positive bool) (time.Duration, bool) {
	expected := "a duration like 300ms or 1.5s"
	if positive {
		expected = "a positive duration like 300ms or 1.5s"
	}
	n, ok := d.scalar(n, key, expected)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(n.Value)
	switch {
	case n.ShortTag() == "!!int" && n.Value != "0":
		d.errorf(n, "%s %s has no unit; expected %s", key, n.Value, expected)
		return 0, false
	case n.ShortTag() != "!!str" && n.ShortTag() != "!!int", err != nil:
		d.errorf(n, "%s %s is not a duration; expected %s", key, describe(n), expected)
		return 0, false
	case v < 0:
		d.errorf(n, "%s %s is negative; expected %s", key, n.Value, expected)
		return 0, false
	case v == 0 && positive:
		d.errorf(n, "%s is zero; expected %s", key, expected)
		return 0, false
	}
	return v, true
}

// enum decodes one of valid, suggesting the closest on a typo.
func (d *decoder) enum(n *yaml.Node, key string, valid ...string) (string, bool) {
	expected := "one of " + strings.Join(valid, ", ")
	s, ok := d.str(n, key, expected)
	if !ok {
		return "", false
	}
	if !slices.Contains(valid, s) {
		d.errorf(resolve(n), "%s %q is not valid%s", key, truncate(s), didYouMean(s, valid))
		return "", false
	}
	return s, true
}

// list checks that n is a list (or empty) and returns its items.
func (d *decoder) list(n *yaml.Node, key, expected string) ([]*yaml.Node, bool) {
	n = resolve(n)
	switch {
	case n.Kind == yaml.SequenceNode:
		return n.Content, true
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return nil, true
	}
	d.errorf(n, "%s is %s; expected a list of %s", key, describe(n), expected)
	return nil, false
}
