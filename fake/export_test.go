package fake

// Unchecked is the wire layer as it was before requests were validated,
// for the benchmark that measures what validation costs.
func Unchecked() Option {
	return func(c *config) error {
		c.wire.Unchecked = true
		return nil
	}
}
