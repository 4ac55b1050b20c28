package selfsigned_test

import (
	"crypto/tls"
	"fmt"

	"github.com/seed73168108/kafkaemu/internal/selfsigned"
)

// A server with the certificate and a client that trusts it.
func Example() {
	cert, err := selfsigned.New()
	if err != nil {
		panic(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cert.ServerConfig())
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), cert.ClientConfig())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	buf := make([]byte, 5)
	_, err = conn.Read(buf)
	fmt.Println(string(buf), err)
	// Output: hello <nil>
}
