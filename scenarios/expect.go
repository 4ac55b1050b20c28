package scenarios

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// anomalyNames are the Jepsen Kafka anomalies an expectation may count.
var anomalyNames = []string{
	"lost-write", "duplicate", "unseen", "redelivered", "poll-skip", "nonmonotonic-poll",
	"int-poll-skip", "int-nonmonotonic-poll", "nonmonotonic-send", "int-send-skip",
	"G1a", "precommitted-read", "inconsistent-offsets", "reorder-per-key",
}

var (
	checkKeys  = slices.Concat(anomalyNames, []string{"delivery", "acked", "consumed", "rebalances", "produce-errors", "fenced"})
	scopeKeys  = []string{"producer", "consumer", "group"}
	expectKeys = slices.Concat(checkKeys, scopeKeys)
)

// scopesFor lists the scope keys each kind of expectation accepts.
var scopesFor = map[ExpectKind][]string{
	ExpectAnomaly:      scopeKeys,
	ExpectDelivery:     scopeKeys,
	ExpectAcked:        {"producer"},
	ExpectConsumed:     {"consumer", "group"},
	ExpectRebalances:   {"group"},
	ExpectProduceError: {"producer"},
	ExpectFenced:       {"producer", "consumer"},
}

func (d *decoder) expectations(n *yaml.Node) []Expectation {
	items, ok := d.list(n, "expect", "expectations like {lost-write: 0}")
	if ok && len(items) == 0 {
		d.errorf(resolve(n), "expect is empty; expected at least one expectation, like {lost-write: 0}")
	}
	var out []Expectation
	for _, item := range items {
		out = append(out, d.expectation(item)...)
	}
	return out
}

// expectation decodes one list item: one check and its scope. A
// produce-errors item yields one Expectation per error code.
func (d *decoder) expectation(n *yaml.Node) []Expectation {
	m := d.mapping(n, "expectation", expectKeys)
	if m == nil {
		return nil
	}
	var checks []string
	for _, k := range checkKeys {
		if m.has(k) {
			checks = append(checks, k)
		}
	}
	switch len(checks) {
	case 0:
		if m.merged || slices.ContainsFunc(checkKeys, func(k string) bool { return m.guessed[k] }) {
			return nil
		}
		d.errorf(m.node, "expectation has no check; expected one of %s, like {lost-write: 0}", strings.Join(checkKeys, ", "))
		return nil
	case 1:
	default:
		d.errorf(m.keys[checks[1]], "expectation has both %q and %q; expected one check per list item", checks[0], checks[1])
		return nil
	}
	check := checks[0]
	e := Expectation{Pos: d.pos(m.keys[check])}
	switch check {
	case "delivery", "acked", "consumed", "rebalances", "produce-errors", "fenced":
		e.Kind = ExpectKind(check)
	default:
		e.Kind, e.Anomaly = ExpectAnomaly, check
	}
	errs := len(d.errs)
	for _, key := range scopeKeys {
		vn := m.vals[key]
		if vn == nil {
			continue
		}
		if !slices.Contains(scopesFor[e.Kind], key) {
			d.errorf(m.keys[key], "%s does not narrow %s; expected %s", key, check, scopeHelp(e.Kind))
			continue
		}
		switch key {
		case "producer":
			e.Producer, _ = d.clientRef(vn, "producer")
			if p, ok := d.producerByName[e.Producer]; ok && e.Kind == ExpectFenced && p.TransactionalID == "" {
				d.errorf(resolve(vn), "producer %q is not transactional, so it cannot be fenced; expected a producer with a transactional_id", e.Producer)
			}
		case "consumer":
			e.Consumer, _ = d.memberRef(vn, "consumer")
			if _, ok := d.consumerByName[e.Consumer]; ok && e.Kind == ExpectFenced {
				d.errorf(resolve(vn), "consumer %q is not a pipeline, so it cannot be fenced; expected a pipeline, or a transactional producer as producer", e.Consumer)
			}
		case "group":
			if m.has("consumer") {
				d.errorf(m.keys[key], "expectation has both consumer and group; expected one of them")
				continue
			}
			e.Group, _ = d.groupRef(vn)
		}
	}
	vn := m.vals[check]
	switch e.Kind {
	case ExpectDelivery:
		v, _ := d.enum(vn, "delivery", string(AtMostOnce), string(AtLeastOnce), string(ExactlyOnce))
		e.Delivery = Delivery(v)
	case ExpectProduceError:
		return d.produceErrors(vn, e, len(d.errs) == errs)
	default:
		e.Count, _ = d.comparison(vn, check)
	}
	if len(d.errs) != errs {
		return nil
	}
	return []Expectation{e}
}

func scopeHelp(k ExpectKind) string {
	scopes := scopesFor[k]
	if len(scopes) == 1 {
		return scopes[0] + " or none"
	}
	return strings.Join(scopes[:len(scopes)-1], ", ") + " or " + scopes[len(scopes)-1] + ", or none"
}

// produceErrors decodes {ERROR_NAME: comparison, ...}.
func (d *decoder) produceErrors(n *yaml.Node, base Expectation, ok bool) []Expectation {
	n = resolve(n)
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		d.errorf(n, "produce-errors is %s; expected a mapping of Kafka error names to counts, like {NOT_ENOUGH_REPLICAS: \"> 0\"}", describe(n))
		return nil
	}
	var out []Expectation
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		e := base
		e.Pos = d.pos(k)
		kerrv, good := d.kafkaError(k, "produce-errors")
		if !good {
			ok = false
			continue
		}
		if line, dup := seen[kerrv.Message]; dup {
			d.errorf(k, "duplicate key %q in produce-errors; it was first given at line %d", k.Value, line)
			ok = false
			continue
		}
		seen[kerrv.Message] = k.Line
		e.Error = kerrv
		if e.Count, good = d.comparison(v, k.Value); !good {
			ok = false
			continue
		}
		out = append(out, e)
	}
	if !ok {
		return nil
	}
	return out
}

var comparisonPattern = regexp.MustCompile(`^(==|<=|>=|<|>)?\s*([0-9]+)$`)

// comparison decodes a count (== that count) or a string such as "> 0".
func (d *decoder) comparison(n *yaml.Node, key string) (Comparison, bool) {
	const expected = `a count like 0, or a comparison like "> 0", ">= 3", "< 10" or "== 5"`
	n, ok := d.scalar(n, key, expected)
	if !ok {
		return Comparison{}, false
	}
	var c Comparison
	switch n.ShortTag() {
	case "!!int":
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 32)
		if err != nil || v < 0 {
			d.errorf(n, "%s is %s; expected %s (counts are never negative)", key, truncate(n.Value), expected)
			return Comparison{}, false
		}
		c = Comparison{Op: Eq, N: int(v)}
	case "!!str":
		m := comparisonPattern.FindStringSubmatch(strings.TrimSpace(n.Value))
		if m == nil {
			d.errorf(n, "%s %q is not a comparison; expected %s", key, truncate(n.Value), expected)
			return Comparison{}, false
		}
		v, err := strconv.ParseInt(m[2], 10, 32)
		if err != nil {
			d.errorf(n, "%s %q is out of range; expected %s", key, truncate(n.Value), expected)
			return Comparison{}, false
		}
		c = Comparison{Op: Op(m[1]), N: int(v)}
		if c.Op == "" {
			c.Op = Eq
		}
	default:
		d.errorf(n, "%s is %s; expected %s", key, describe(n), expected)
		return Comparison{}, false
	}
	if c.Op == Less && c.N == 0 {
		d.errorf(n, "%s %q can never hold, since counts are never negative; expected %s", key, n.Value, expected)
		return Comparison{}, false
	}
	return c, true
}
