package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a scenario file. Line and Column count from 1; a
// zero Line means the position is the file as a whole.
type Pos struct {
	File   string
	Line   int
	Column int
}

// String formats the position as file:line:column, the form editors and
// terminals turn into links.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is one problem found in a scenario file.
type Error struct {
	Pos Pos
	Msg string // what was wrong; what was expected
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem found in one or more scenario files, sorted by
// file and position. Parse, Load and LoadDir return one as their error.
type ErrorList []*Error

// Error prints one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each *Error to errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
		)
	})
}

// didYouMean returns `; did you mean "x"?` for the valid name closest to
// got, or `; expected one of a, b, c` when none is close.
func didYouMean(got string, valid []string) string {
	if len(valid) == 0 {
		return "; none are declared"
	}
	if best, ok := closest(got, valid); ok {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return "; expected one of " + strings.Join(valid, ", ")
}

// closest finds the valid name nearest to got by edit distance, ignoring
// case, if it is near enough to be a plausible typo.
func closest(got string, valid []string) (string, bool) {
	g := strings.ToLower(got)
	best, bestDist := "", -1
	for _, v := range valid {
		d := editDistance(g, strings.ToLower(v))
		if bestDist < 0 || d < bestDist {
			best, bestDist = v, d
		}
	}
	if bestDist < 0 {
		return "", false
	}
	limit := max(2, len(best)/3)
	return best, bestDist <= limit && bestDist < len(got)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
// Scenario names are short, so the quadratic cost does not matter; inputs
// are capped to keep hostile files cheap.
func editDistance(a, b string) int {
	const capLen = 64
	if len(a) > capLen {
		a = a[:capLen]
	}
	if len(b) > capLen {
		b = b[:capLen]
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
