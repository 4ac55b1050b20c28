package harness_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readmeGoBlock is the first ```go block under README.md's "## heading".
func readmeGoBlock(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "\n## "+heading+"\n")
	if !ok {
		t.Fatalf(`README.md has no "## %s" section`, heading)
	}
	if next := strings.Index(after, "\n## "); next >= 0 {
		after = after[:next]
	}
	_, code, ok := strings.Cut(after, "```go\n")
	if !ok {
		t.Fatalf("README.md's %s has no ```go block", heading)
	}
	code, _, ok = strings.Cut(code, "\n```")
	if !ok {
		t.Fatalf("README.md's %s ```go block is not closed", heading)
	}
	return code
}

// readmeInStep fails t unless README.md's example under heading is the
// function name of file, verbatim but for indentation.
func readmeInStep(t *testing.T, heading, file, name string) {
	t.Helper()
	if diff := cmp.Diff(normalized(funcSource(t, file, name)), normalized(readmeGoBlock(t, heading))); diff != "" {
		t.Errorf("README.md's %s example and %s in harness/%s differ (-test +README):\n%s", heading, name, file, diff)
	}
}

// funcSource is the source of the function name in file, from "func" to
// its closing brace (without its doc comment).
func funcSource(t *testing.T, file, name string) string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name {
			return string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset])
		}
	}
	t.Fatalf("%s has no func %s", file, name)
	return ""
}

// normalized is code's lines without indentation or trailing space, so
// that a differently indented copy still matches.
func normalized(code string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(code), "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// The README's quickstart is the test in readme_test.go, so that what the
// README shows compiles and passes.
func TestReadmeQuickstartIsReadmeTest(t *testing.T) {
	t.Parallel()
	block := readmeGoBlock(t, "Quickstart")
	// The block is one function; find its name to compare with the same
	// function in readme_test.go.
	f, err := parser.ParseFile(token.NewFileSet(), "README.md", "package p\n"+block, 0)
	if err != nil {
		t.Fatalf("README.md's quickstart does not parse as Go: %v\n%s", err, block)
	}
	if len(f.Decls) != 1 {
		t.Fatalf("README.md's quickstart has %d declarations, want one func", len(f.Decls))
	}
	fd, ok := f.Decls[0].(*ast.FuncDecl)
	if !ok {
		t.Fatalf("README.md's quickstart declares a %T, want a func", f.Decls[0])
	}
	test := funcSource(t, "readme_test.go", fd.Name.Name)
	if diff := cmp.Diff(normalized(block), normalized(test)); diff != "" {
		t.Errorf("README.md's quickstart and %s in harness/readme_test.go differ (-README +readme_test.go):\n%s", fd.Name.Name, diff)
	}
}
