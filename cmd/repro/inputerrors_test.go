package main

import (
	"encoding/binary"
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
	empty := npy("empty.npy", "<f4", "(0, 3, 8, 8)", nil)
	scalar := npy("scalar.npy", "<f4", "()", make([]byte, 4))
	negative := npy("negative.npy", "<f4", "(-1, 3, 8, 8)", nil)
	claimsMore := npy("claims.npy", "<f4", "(100, 3, 8, 8)", make([]byte, 4*3*8*8))
	badWeights := filepath.Join(dir, "bad.safetensors")
	header := `{"conv1.weight":{"dtype":"F32","shape":[-4,3,3,3],"data_offsets":[0,16]}}`
	if err := os.WriteFile(badWeights, append(binary.LittleEndian.AppendUint64(nil, uint64(len(header))), append([]byte(header), make([]byte, 16)...)...), 0o644); err != nil {
		t.Fatal(err)
	}
	// spec writes a one-run spec whose run line and smoke scale carry extra.
	spec := func(name, runExtra, smoke string) string {
		p := filepath.Join(dir, name+".yaml")
		body := "id: " + name + "\nartifact: Figure 1\ntitle: bad input\nkind: train\ndataset: cifar10\nrecipe: cifar-paper\nruns:\n  - {name: r, model: resnet-8" + runExtra + "}\nscales:\n  smoke: {" + smoke + "}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	db := filepath.Join(dir, "runs.db")
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("not a database, just text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{[]string{"eval", "--run", "abc", "--views", "center"}, "a run is evaluated with its own views and input"},
		{[]string{"eval", "--model", "resnet-8", "--weights", w, "--normalize", "torchvision"}, "add --imagenet DIR"},
		{[]string{"eval", "--model", "resnet-8", "--weights", w, "--imagenet", filepath.Join(dir, "noimagenet")}, "noimagenet"},
		{[]string{"eval", "--model", "resnet-18", "--weights", w, "--imagenet", "../../../shared/datasets/imagenet-sample", "--views", "5-crop"}, `unknown view "5-crop"`},
		// Issue 19's inputs that panicked or ran out of memory.
		{[]string{"run", spec("inf", ", width: .inf", ""), "--scale", "smoke", "--db", db, "--offline"}, "inf.yaml:8:39: width must be a finite positive number, not +Inf"},
		{[]string{"run", spec("nan", ", width: .nan", ""), "--scale", "smoke", "--db", db, "--offline"}, "width must be a finite positive number, not NaN"},
		// 10^6 x (18,442 activations x 12 bytes + 1 MiB) is about 1.2 TiB
		// (reproduce's footprint model): more than any test machine has.
		{[]string{"run", spec("batch", "", "batch: 1000000"), "--scale", "smoke", "--db", db, "--offline"}, "batch/r: batch 1000000 and width 0.25 need about"},
		{[]string{"run", spec("width", "", "width: 1000"), "--scale", "smoke", "--db", db, "--offline"}, "batch 8 and width 1000 need about"},
		{[]string{"run", "fig1", "--scale", "smoke", "--seeds", "-1", "--db", db, "--offline"}, "--seeds -1"},
		{[]string{"runs", "--db", garbage}, "not an SQLite database"},
		{[]string{"query", "select 1", "--db", garbage}, "not an SQLite database"},
		{[]string{"query", "select 1; select 2", "--db", filepath.Join("..", "..", "results", "medium.db")}, "more than one statement"},
		{[]string{"arch", "resnet-20", "--width", "1e9"}, "must be a finite number in (0, 1024]"},
		{[]string{"forward", "--model", "resnet-8", "--weights", w, "--input", empty, "--output", out}, "holds no pixels"},
		{[]string{"forward", "--model", "resnet-8", "--weights", w, "--input", scalar, "--output", out}, "0-d array"},
		{[]string{"forward", "--model", "resnet-8", "--weights", w, "--input", negative, "--output", out}, `dimension "-1"`},
		{[]string{"forward", "--model", "resnet-8", "--weights", w, "--input", claimsMore, "--output", out}, "truncated"},
		{[]string{"forward", "--model", "resnet-8", "--weights", badWeights, "--input", good, "--output", out}, "want non-negative dimensions"},
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
