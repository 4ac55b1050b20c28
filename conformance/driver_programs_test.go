package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// programDriver runs a client as a program of its own (python/, node/):
// each operation is one run, given as JSON; consume prints the values it
// read as a JSON list on its last line. A program says an operation is
// not supported by exiting with code 3.
type programDriver struct {
	name    string
	argv    func(spec string) []string // the command line for one operation
	env     []string
	lacks   map[string]bool // operations the client does not have at all: errUnsupported without a run
	ver     func() (string, error)
	timeout time.Duration
}

// progSpec is one operation as the programs read it.
type progSpec struct {
	Op            string    `json:"op"` // produce, consume, member, txn
	Brokers       string    `json:"brokers"`
	SASL          *progSASL `json:"sasl,omitempty"`
	CA            string    `json:"ca,omitempty"`
	Topic         string    `json:"topic"`
	Acks          string    `json:"acks,omitempty"`
	Values        []string  `json:"values,omitempty"`
	Idempotent    bool      `json:"idempotent,omitempty"`
	Group         string    `json:"group,omitempty"`
	N             int       `json:"n,omitempty"`
	ReadCommitted bool      `json:"read_committed,omitempty"`
	InstanceID    string    `json:"instance_id,omitempty"`
	TxnID         string    `json:"txn_id,omitempty"`
	Commit        bool      `json:"commit,omitempty"`
}

type progSASL struct {
	Mechanism string `json:"mechanism"`
	User      string `json:"user"`
	Pass      string `json:"pass"`
}

func (d *programDriver) version(*testing.T) (string, error) { return d.ver() }

func (d *programDriver) spec(e endpoint, s progSpec) string {
	s.Brokers = joinAddrs(e.brokers)
	if e.sasl != nil {
		s.SASL = &progSASL{e.sasl.mech, e.sasl.user, e.sasl.pass}
	}
	s.CA = e.caFile
	b, _ := json.Marshal(s)
	return string(b)
}

// run runs one operation to its end and returns its stdout.
func (d *programDriver) run(t *testing.T, e endpoint, s progSpec) (string, error) {
	if d.lacks[s.Op] || (s.InstanceID != "" && d.lacks["static"]) || (s.ReadCommitted && d.lacks["read_committed"]) {
		return "", errUnsupported
	}
	ctx, cancel := cellCtx(t)
	defer cancel()
	argv := d.argv(d.spec(e, s))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), d.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return "", errUnsupported
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n%s", d.name, s.Op, err, lastLines(stderr.String(), 30))
	}
	return stdout.String(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (d *programDriver) produce(t *testing.T, e endpoint, p produceSpec) error {
	_, err := d.run(t, e, progSpec{Op: "produce", Topic: p.topic, Acks: p.acks, Values: p.values, Idempotent: p.idempotent})
	return err
}

func (d *programDriver) consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error) {
	out, err := d.run(t, e, progSpec{Op: "consume", Topic: c.topic, Group: c.group, N: c.n, ReadCommitted: c.readCommitted})
	if err != nil {
		return nil, err
	}
	var got []string
	if err := json.Unmarshal([]byte(lastLines(out, 1)), &got); err != nil {
		return nil, fmt.Errorf("%s consume printed %q: %v", d.name, lastLines(out, 3), err)
	}
	return got, nil
}

func (d *programDriver) txn(t *testing.T, e endpoint, x txnSpec) error {
	_, err := d.run(t, e, progSpec{Op: "txn", Topic: x.topic, TxnID: x.id, Values: x.values, Commit: x.commit})
	return err
}

// member starts the program as a group member; it stays until its stdin
// closes (then leaves the group and exits) or it is killed.
func (d *programDriver) member(t *testing.T, e endpoint, m memberSpec) (func(bool), error) {
	s := progSpec{Op: "member", Topic: m.topic, Group: m.group, InstanceID: m.instanceID}
	if d.lacks["member"] || (s.InstanceID != "" && d.lacks["static"]) {
		return nil, errUnsupported
	}
	argv := d.argv(d.spec(e, s))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), d.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func(abrupt bool) {
		if stopped {
			return
		}
		stopped = true
		if abrupt {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		} else {
			stdin.Close()
		}
		select {
		case err := <-exited:
			if err != nil && !abrupt {
				t.Errorf("%s member: %v\n%s", d.name, err, lastLines(stderr.String(), 30))
			}
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s member did not stop within a minute of its stdin closing", d.name)
		}
	}
	t.Cleanup(func() { stop(true) })
	return stop, nil
}
