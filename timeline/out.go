package timeline

import (
	"io"
	"strconv"
)

// out buffers the page and writes it in chunks; the first write error
// stops the writing and is returned by flush.
type out struct {
	w   io.Writer
	buf []byte
	err error
}

func (o *out) spill() {
	if len(o.buf) < 60<<10 {
		return
	}
	if o.err == nil {
		_, o.err = o.w.Write(o.buf)
	}
	o.buf = o.buf[:0]
}

func (o *out) flush() error {
	if o.err == nil && len(o.buf) > 0 {
		_, o.err = o.w.Write(o.buf)
	}
	o.buf = o.buf[:0]
	return o.err
}

// s writes raw markup.
func (o *out) s(s string) {
	o.buf = append(o.buf, s...)
	o.spill()
}

// i writes a number.
func (o *out) i(n int64) { o.buf = strconv.AppendInt(o.buf, n, 10) }

// esc writes text escaped for an HTML attribute or element.
func (o *out) esc(s string) {
	o.buf = appendEscaped(o.buf, s)
	o.spill()
}

func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case '&':
			r = "&amp;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		case '"':
			r = "&#34;"
		case '\'':
			r = "&#39;"
		case 0:
			r = "\uFFFD"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, r...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// attr writes ` name="value"` with value escaped.
func (o *out) attr(name, value string) {
	o.buf = append(o.buf, ' ')
	o.buf = append(o.buf, name...)
	o.buf = append(o.buf, '=', '"')
	o.buf = appendEscaped(o.buf, value)
	o.buf = append(o.buf, '"')
}

// num writes ` name="n"`.
func (o *out) num(name string, n int64) {
	o.buf = append(o.buf, ' ')
	o.buf = append(o.buf, name...)
	o.buf = append(o.buf, '=', '"')
	o.buf = strconv.AppendInt(o.buf, n, 10)
	o.buf = append(o.buf, '"')
}

// rect writes a rect of class cls; hover text t if not empty.
func (o *out) rect(cls string, x, y, w, h int64, t string) {
	o.buf = append(o.buf, `<rect class="`...)
	o.buf = append(o.buf, cls...)
	o.buf = append(o.buf, '"')
	o.num("x", x)
	o.num("y", y)
	o.num("width", max(w, 1))
	o.num("height", max(h, 1))
	if t != "" {
		o.attr("data-t", t)
	}
	o.buf = append(o.buf, "/>"...)
	o.spill()
}

// text writes a label at x, y.
func (o *out) text(cls string, x, y int64, s string) {
	o.buf = append(o.buf, `<text class="`...)
	o.buf = append(o.buf, cls...)
	o.buf = append(o.buf, '"')
	o.num("x", x)
	o.num("y", y)
	o.buf = append(o.buf, '>')
	o.buf = appendEscaped(o.buf, s)
	o.buf = append(o.buf, "</text>"...)
	o.spill()
}
