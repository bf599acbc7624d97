package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input gives a one-line error naming the problem and exit status 2
// (issue 2's acceptance list).
func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	w := filepath.Join(dir, "w.safetensors")
	if code, _, errs := runRepro("init", "--model", "resnet-8", "--seed", "1", "--out", w); code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	npy := func(name, descr, shape string, data []byte) string {
		header := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
		for (10+len(header)+1)%64 != 0 {
			header += " "
		}
		header += "\n"
		raw := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), 0)
		raw = append(append(raw, header...), data...)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongShape := npy("shape.npy", "<f4", "(1, 32, 32)", make([]byte, 4*32*32))
	wrongType := npy("dtype.npy", "<f8", "(1, 3, 8, 8)", make([]byte, 8*3*8*8))
	good := npy("good.npy", "<f4", "(1, 3, 8, 8)", make([]byte, 4*3*8*8))
	out := filepath.Join(dir, "l.npy")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"arch", "alexnet-8"}, "unknown model"},
		{[]string{"arch", "resnet-21"}, "6n+2"},
		{[]string{"arch", "resnet-20", "--shortcut", "D"}, "unknown shortcut option"},
		{[]string{"arch", "resnet-20", "--format", "xml"}, "unknown --format"},
		{[]string{"forward", "--model", "resnet-8", "--weights", w, "--input", wrongShape, "--output", out}, "want (N, 3, H, H)"},
		{[]string{"forward", "--model", "resnet-8", "--weights", w, "--input", wrongType, "--output", out}, "want float32"},
		{[]string{"forward", "--model", "resnet-8", "--shortcut", "B", "--weights", w, "--input", good, "--output", out}, "missing tensor \"layer2.0.downsample.0.weight\""},
		{[]string{"init", "--model", "resnet-8", "--seed", "1"}, "out"},
		{[]string{"eval"}, "give --run ID, or --model and --weights"},
		{[]string{"eval", "--run", "abc", "--model", "resnet-8"}, "a run's network is its own"},
		{[]string{"eval", "--model", "resnet-8", "--shortcut", "B", "--weights", w, "--data", sharedData, "--offline"}, "missing tensor \"layer2.0.downsample.0.weight\""},
		{[]string{"eval", "--model", "resnet-8", "--weights", w, "--limit", "20000", "--data", sharedData, "--offline"}, "first 20000 images"},
		{[]string{"eval", "--run", "nosuchrun", "--db", filepath.Join(dir, "none.db")}, "none.db: file does not exist"},
	}
	for _, c := range cases {
		code, _, errs := runRepro(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line mentioning %q", c.args, code, errs, c.want)
		}
	}
}

// `repro arch resnet-50 --format json` carries model, params and macs
// (Table 1: 3.8e9 multiply-adds; torchvision's 25,557,032 parameters).
func TestArchJSON(t *testing.T) {
	code, out, errs := runRepro("arch", "resnet-50", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{`"model": "resnet-50"`, `"params": 25557032`, `"macs": 3857973248`} {
		if !strings.Contains(out, want) {
			t.Errorf("json lacks %s:\n%s", want, out)
		}
	}
}
