package fake_test

import (
	"context"
	"fmt"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A cluster whose brokers speak TLS: the client trusts the cluster's
// certificate through TLSConfig.
func ExampleTLS() {
	cert, err := selfsigned.New() // a self-signed certificate for 127.0.0.1
	if err != nil {
		panic(err)
	}
	c, err := fake.New(fake.Topic("orders", 1, 3), fake.TLS(cert.ServerConfig()))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DialTLSConfig(c.TLSConfig()), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	err = cl.ProduceSync(context.Background(), kgo.StringRecord("over TLS")).FirstErr()
	fmt.Println("produced:", err == nil)
	// Output: produced: true
}
