package choose

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	auto := "reference"
	if OneDNNBuiltIn {
		auto = "onednn"
	}
	for _, tc := range []struct {
		name, want string // want "" means an error
		threads    int
	}{
		{"auto", auto, 1},
		{"", auto, 2},
		{"reference", "reference", 3},
		{"REFERENCE", "reference", 1},
		{"onednn", map[bool]string{true: "onednn", false: ""}[OneDNNBuiltIn], 2},
		{"cudnn", "", 1},
	} {
		b, err := New(tc.name, tc.threads)
		if tc.want == "" {
			if err == nil {
				t.Errorf("New(%q) = %s, want an error", tc.name, b.Name())
			} else if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("New(%q) error %q does not name the backend", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q): %v", tc.name, err)
			continue
		}
		if b.Name() != tc.want || b.Threads() != tc.threads {
			t.Errorf("New(%q, %d) = %s with %d threads, want %s with %d", tc.name, tc.threads, b.Name(), b.Threads(), tc.want, tc.threads)
		}
		b.Close()
	}
}
