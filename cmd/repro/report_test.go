package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/reports"
	"github.com/resnet-repro/resnet-repro/reproduce"
)

// TestReportModelConfigMatchesRunner: reports keeps its own copy of the
// runner's spec-to-model mapping (it may not import the runner); the two
// must agree on every run of every built-in spec at every scale.
func TestReportModelConfigMatchesRunner(t *testing.T) {
	specs, err := experiments.Builtin(reproduce.ValidateModel)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range specs {
		for _, scale := range experiments.Scales {
			res, err := s.Resolve(experiments.Options{Scale: scale})
			if err != nil {
				t.Fatal(err)
			}
			for _, rr := range res.Runs {
				want, errW := reproduce.ModelConfig(rr.Config)
				got, errG := reports.ModelConfig(rr.Config)
				if (errW == nil) != (errG == nil) || !reflect.DeepEqual(got, want) {
					t.Errorf("%s/%s at %s: reports %+v (%v), runner %+v (%v)", s.ID, rr.Name, scale, got, errG, want, errW)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no runs compared")
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "reports")
	var stdout, stderr bytes.Buffer
	// No database: every trained artifact is reported as not run.
	code := run([]string{"repro", "report", "table6", "fig2", "--db", filepath.Join(dir, "none.db"), "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no results database") {
		t.Errorf("stderr does not warn about the missing database: %q", stderr.String())
	}
	for _, f := range []string{"README.md", "table6.md", "fig2.md", "plots/fig2-blocks.png", "plots/fig2-blocks.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "fig1.md")); !os.IsNotExist(err) {
		t.Errorf("fig1.md written though only table6 and fig2 were asked for (stat: %v)", err)
	}
	for _, args := range [][]string{
		{"repro", "report", "--scale", "huge", "--out", out},
		{"repro", "report", "table99", "--out", out},
	} {
		stderr.Reset()
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}
