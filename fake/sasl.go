package fake

import (
	"crypto/rand"
	"fmt"
	"github.com/seed73168108/kafkaemu/internal/wire"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SASL makes the brokers require SASL authentication, as a
// SASL_PLAINTEXT listener does: a client authenticates as user with pass
// through mechanism, PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, before any
// other request. Give one SASL option per user. The users are
// superusers (no ACL applies). A wrong password closes the connection
// (kfake's answer; Kafka sends SASL_AUTHENTICATION_FAILED first). fake's own connections to its brokers
// (topic creation, replication, group verbs) authenticate as a PLAIN user
// of their own, so every fake verb works as without SASL. kfake's SASL
// through KfakeOpts alone left those connections unauthenticated: the
// cluster could not create a topic.
func SASL(mechanism, user, pass string) Option {
	return func(c *config) error {
		if !slices.Contains([]string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}, mechanism) {
			return fmt.Errorf("fake.SASL(%q, %q, ...): the mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mechanism, user)
		}
		if user == "" || user == internalClientID {
			return fmt.Errorf("fake.SASL(%q, %q, ...): want a user name other than %q", mechanism, user, internalClientID)
		}
		c.sasl = append(c.sasl, saslUser{mechanism, user, pass})
		return nil
	}
}

type saslUser struct{ mechanism, user, pass string }

// saslOpts are the kfake options for cfg's SASL users, with fake's own
// PLAIN user; the password is random, known only to this process.
func (cfg *config) saslOpts() []kfake.Opt {
	if len(cfg.sasl) == 0 {
		return nil
	}
	cfg.internalPass = rand.Text()
	opts := []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", internalClientID, cfg.internalPass)}
	for _, u := range cfg.sasl {
		opts = append(opts, kfake.Superuser(u.mechanism, u.user, u.pass))
	}
	return opts
}

// newInternalConn is a connection of fake's own to ln's broker,
// authenticated when the cluster requires SASL.
func (c *Cluster) newInternalConn(ln *wire.Listener) (*conn, error) {
	cn, err := ln.Internal()
	if err != nil || c.cfg.internalPass == "" {
		return cn, err
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = 1
	hs.Mechanism = "PLAIN"
	resp, err := cn.RoundTrip(hs)
	if err == nil {
		err = kerr.ErrorForCode(resp.(*kmsg.SASLHandshakeResponse).ErrorCode)
	}
	if err == nil {
		auth := kmsg.NewPtrSASLAuthenticateRequest()
		auth.Version = 1
		auth.SASLAuthBytes = []byte("\x00" + internalClientID + "\x00" + c.cfg.internalPass)
		var r kmsg.Response
		if r, err = cn.RoundTrip(auth); err == nil {
			err = kerr.ErrorForCode(r.(*kmsg.SASLAuthenticateResponse).ErrorCode)
		}
	}
	if err != nil {
		cn.Close()
		return nil, fmt.Errorf("fake: authenticating its own connection to broker %d: %w", ln.Node(), err)
	}
	return cn, nil
}
