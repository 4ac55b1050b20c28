package conformance

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kcatDriver runs kcat (librdkafka underneath) for each operation.
type kcatDriver struct{}

var kcatVersion = regexp.MustCompile(`Version (\S+) .*librdkafka (\S+)`)

func (kcatDriver) version(*testing.T) (string, error) {
	if _, err := exec.LookPath("kcat"); err != nil {
		return "", err
	}
	out, _ := exec.Command("kcat", "-V").CombinedOutput()
	m := kcatVersion.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("kcat -V printed %q", out)
	}
	return fmt.Sprintf("%s (librdkafka %s, Debian)", m[1], m[2]), nil
}

// args are the options every kcat run gets: brokers, auth, fast retries.
func (kcatDriver) args(e endpoint) []string {
	a := []string{"-b", joinAddrs(e.brokers), "-X", "retry.backoff.ms=10", "-X", "reconnect.backoff.ms=10", "-X", "topic.metadata.refresh.interval.ms=1000"}
	if e.sasl != nil {
		a = append(a, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms="+e.sasl.mech,
			"-X", "sasl.username="+e.sasl.user, "-X", "sasl.password="+e.sasl.pass)
	}
	if e.tlsCfg != nil {
		a = append(a, "-X", "security.protocol=SSL", "-X", "ssl.ca.location="+e.caFile)
	}
	return a
}

func (d kcatDriver) run(t *testing.T, stdin string, args ...string) (string, error) {
	ctx, cancel := cellCtx(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kcat %s: %v\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 20))
	}
	// kcat reports a failed delivery on stderr and may still exit 0 (a
	// transport error it recovered from is reported there too: not one).
	if s := stderr.String(); strings.Contains(s, "Delivery failed") {
		return stdout.String(), fmt.Errorf("kcat %s:\n%s", strings.Join(args, " "), lastLines(s, 20))
	}
	return stdout.String(), nil
}

func (d kcatDriver) produce(t *testing.T, e endpoint, p produceSpec) error {
	args := append(d.args(e), "-P", "-t", p.topic, "-p", "0", "-X", "acks="+p.acks, "-X", "linger.ms=0",
		"-X", "enable.idempotence="+strconv.FormatBool(p.idempotent))
	if e.tlsCfg != nil || e.sasl != nil {
		args = append(args, "-X", "message.timeout.ms=5000")
	}
	// One message a line; kcat sends them as they are read, so a slow
	// acks=all write holds the ones after it as the other clients do.
	_, err := d.run(t, strings.Join(p.values, "\n")+"\n", args...)
	return err
}

func (d kcatDriver) consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error) {
	iso := "read_uncommitted"
	if c.readCommitted {
		iso = "read_committed"
	}
	args := append(d.args(e), "-X", "isolation.level="+iso, "-X", "fetch.wait.max.ms=50", "-q", "-f", "%s\n", "-c", strconv.Itoa(c.n))
	if c.group != "" {
		// kcat -G commits what it consumed when it closes (enable.auto.commit).
		args = append(args, "-G", c.group, "-o", "beginning", "-X", "session.timeout.ms=10000", "-X", "heartbeat.interval.ms=100", c.topic)
	} else {
		args = append(args, "-C", "-t", c.topic, "-p", "0", "-o", "beginning")
	}
	out, err := d.run(t, "", args...)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n"), nil
}

func (d kcatDriver) member(t *testing.T, e endpoint, m memberSpec) (func(bool), error) {
	args := append(d.args(e), "-q", "-G", m.group, "-X", "session.timeout.ms=10000", "-X", "heartbeat.interval.ms=100", m.topic)
	if m.instanceID != "" {
		args = append(args, "-X", "group.instance.id="+m.instanceID)
	}
	cmd := exec.Command("kcat", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
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
		sig := syscall.SIGTERM // kcat closes its consumer: it leaves the group
		if abrupt {
			sig = syscall.SIGKILL
		}
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("kcat -G did not stop within a minute of SIGTERM\n%s", lastLines(stderr.String(), 20))
		}
	}
	t.Cleanup(func() { stop(true) })
	return stop, nil
}

func (kcatDriver) txn(*testing.T, endpoint, txnSpec) error { return errUnsupported }
