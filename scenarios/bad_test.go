package scenarios

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.err from what Parse reports")

// TestBadFiles parses every file in testdata/bad and compares the error
// with the golden .err file next to it.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("testdata/bad has %d files; want at least 30", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			s, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) = %q, nil; want an error", file, s.Name)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load(%s) error is %T, want ErrorList: %v", file, err, err)
			}
			for _, e := range list {
				if e.Pos.File != file || e.Pos.Line < 1 || e.Pos.Column < 1 {
					t.Errorf("error without a full position: %q", e)
				}
				if !strings.Contains(e.Msg, "; ") {
					t.Errorf("error does not say what was expected: %q", e)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBadFiles -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Load(%s) error:\n%s\nwant (%s):\n%s", file, got, golden, want)
			}
		})
	}
}
