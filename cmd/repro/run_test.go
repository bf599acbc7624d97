package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resnet-repro/resnet-repro/results"
)

// mainEnv makes the test binary act as `repro` (TestMain), so that tests
// can run, kill and interrupt real `repro run` processes.
const mainEnv = "REPRO_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(append([]string{"repro"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// tinyCIFAR is an 8-layer ResNet at width 0.5 on 64 CIFAR-10 images,
// batch 8, 12 iterations with an evaluation (on 20 test and 20 held-out
// images) and a checkpoint every 2, so that a process killed after its
// first checkpoint is killed mid-way.
const tinyCIFAR = `id: tiny
artifact: Test
title: kill and resume
kind: train
source: run_test.go
dataset: cifar10
recipe: cifar-paper
runs:
  - {name: resnet-8, model: resnet-8}
scales:
  smoke: {iterations: 12, batch: 8, train_subset: 64, eval_subset: 20, eval_interval: 2, width: 0.5}
`

func writeSpec(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runArgs are the arguments of `repro run` of spec into dir; two threads
// (the backend is deterministic for a fixed thread count), never
// downloading.
func runArgs(spec, dir string) []string {
	return []string{"run", spec, "--scale", "smoke", "--db", filepath.Join(dir, "r.db"), "--checkpoints", filepath.Join(dir, "ck"),
		"--data", sharedData, "--threads", "2", "--offline"}
}

// dbMetrics returns every metric of the one run in the database at path.
func dbMetrics(t *testing.T, path string) (results.Run, []results.Metric) {
	t.Helper()
	db, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.ListRuns(results.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%s: runs %v, %v", path, runs, err)
	}
	ms, err := db.Metrics(runs[0].ID, results.MetricFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return runs[0], ms
}

// A `repro run` process killed with SIGKILL, or stopped with Ctrl-C
// (SIGINT), after its first checkpoint resumes on the next `repro run` and
// ends with exactly the metrics of an uninterrupted run (issue 5's
// acceptance).
func TestRunInterruptedResumesExactly(t *testing.T) {
	requireShared(t)
	spec := writeSpec(t, t.TempDir(), "tiny.yaml", tinyCIFAR)
	whole := t.TempDir()
	if code, _, errs := runRepro(runArgs(spec, whole)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, errs)
	}
	_, want := dbMetrics(t, filepath.Join(whole, "r.db"))
	// 6 evaluations (2, 4, ..., 12) x 7 metrics (train loss, error, lr;
	// test loss, error; val loss, error).
	if len(want) != 6*7 {
		t.Fatalf("uninterrupted run logged %d metrics, want 42", len(want))
	}

	for _, c := range []struct {
		name   string
		signal syscall.Signal
		// exit is the interrupted process's expected exit status (-1:
		// killed by the signal); stderr must contain every one of says.
		exit int
		says []string
	}{
		{"SIGKILL", syscall.SIGKILL, -1, nil},
		{"SIGINT", syscall.SIGINT, 1, []string{"stopped at iteration", "the same command resumes them"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], runArgs(spec, dir)...)
			cmd.Env = append(os.Environ(), mainEnv+"=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			deadline := time.After(5 * time.Minute) // a generous bound for a loaded machine; the run takes seconds
			var waitErr error
		poll:
			for {
				select {
				case waitErr = <-exited:
					t.Fatalf("the run ended before its first checkpoint was seen (%v): %s", waitErr, stderr.String())
				case <-deadline:
					cmd.Process.Kill()
					t.Fatalf("no checkpoint after 5 minutes: %s", stderr.String())
				case <-time.After(5 * time.Millisecond):
					// The runner resumes from the checkpoint the database
					// records, which happens just after the file's atomic
					// rename: wait for the record, not the file, or a kill
					// in between would (rightly) restart from scratch.
					if recordedCheckpoints(filepath.Join(dir, "r.db")) > 0 {
						break poll
					}
				}
			}
			if err := cmd.Process.Signal(c.signal); err != nil {
				t.Fatal(err)
			}
			waitErr = <-exited
			if got := cmd.ProcessState.ExitCode(); got != c.exit {
				t.Fatalf("after %s: exit status %d (%v), want %d; stderr:\n%s", c.name, got, waitErr, c.exit, stderr.String())
			}
			for _, s := range c.says {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			r, _ := dbMetrics(t, filepath.Join(dir, "r.db"))
			if r.Status == results.StatusDone || r.Iteration >= r.Iterations {
				t.Fatalf("the run was not interrupted mid-way: %s at %d/%d", r.Status, r.Iteration, r.Iterations)
			}
			t.Logf("%s at iteration %d of %d", c.name, r.Iteration, r.Iterations)

			code, _, errs := runRepro(runArgs(spec, dir)...)
			if code != 0 || !strings.Contains(errs, "resuming at iteration") {
				t.Fatalf("rerun: exit %d, stderr:\n%s", code, errs)
			}
			r, got := dbMetrics(t, filepath.Join(dir, "r.db"))
			if r.Status != results.StatusDone || len(got) != len(want) {
				t.Fatalf("resumed run %s with %d metrics, uninterrupted %d", r.Status, len(got), len(want))
			}
			sameAs(t, got, want)
		})
	}
}

// `repro run` explains bad input in one line and exits 2: a malformed spec
// (file:line:col), unknown spec or run names, a missing dataset with
// downloads off (how to point at a local copy), a database path that cannot
// be opened.
func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := writeSpec(t, dir, "bad.yaml", "id: bad\nartifact: Test\ntitel: typo\n")
	tiny := writeSpec(t, dir, "tiny.yaml", tinyCIFAR)
	empty := t.TempDir()
	db := filepath.Join(dir, "r.db")
	notDir := writeSpec(t, dir, "file", "")
	cases := []struct {
		name string
		args []string
		env  string // REPRO_OFFLINE value ("" = unset)
		want []string
	}{
		{"malformed spec", []string{"run", bad, "--db", db}, "", []string{"bad.yaml:3:1", `unknown key "titel"`}},
		{"unknown spec", []string{"run", "table99", "--db", db}, "", []string{`no such spec "table99"`, "table6"}},
		{"unknown run", []string{"run", "table6", "--only", "resnet-21", "--scale", "smoke", "--db", db}, "", []string{`table6 has no run "resnet-21"`, "resnet-20"}},
		{"no CIFAR-10, --offline", []string{"run", tiny, "--scale", "smoke", "--db", db, "--data", empty, "--offline"}, "",
			[]string{"CIFAR-10 not found in " + filepath.Join(empty, "cifar10"), "--data DIR", "REPRO_DATA=DIR", "repro data fetch cifar10 --from FILE", "not downloading"}},
		{"no CIFAR-10, REPRO_OFFLINE", []string{"run", tiny, "--scale", "smoke", "--db", db, "--data", empty}, "1",
			[]string{"CIFAR-10 not found", "--data DIR", "not downloading"}},
		{"no ImageNet at paper scale", []string{"run", "table2", "--only", "resnet-18", "--scale", "paper", "--db", db, "--data", empty}, "1",
			[]string{"ImageNet not found at " + filepath.Join(empty, "imagenet"), "--imagenet DIR"}},
		{"--imagenet not a folder", []string{"run", "table2", "--imagenet", filepath.Join(empty, "nope"), "--db", db}, "", []string{"--imagenet", "not a directory"}},
		// Tests run as root, which file permissions do not stop; a path
		// under a regular file (or /dev/null) fails for every user.
		{"database under a file", []string{"run", tiny, "--scale", "smoke", "--db", filepath.Join(notDir, "r.db")}, "", []string{"results database " + filepath.Join(notDir, "r.db"), "not a directory"}},
		{"database is a folder", []string{"run", tiny, "--scale", "smoke", "--db", empty}, "", []string{"results database " + empty, "is a directory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("REPRO_OFFLINE", c.env)
			}
			code, _, errs := runRepro(c.args...)
			if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line", code, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}

// tinyImageNet is Table 2's ResNet-18 (option A) at width 1/16 on a tiny
// ILSVRC-layout tree, with the paper's ImageNet recipe (augmentation,
// center-crop curves, 10-crop and multi-scale final views) cut to 4
// iterations of batch 4.
const tinyImageNet = `id: tiny-imagenet
artifact: Test
title: ImageNet pipeline
kind: train
source: run_test.go
dataset: imagenet
recipe: imagenet-paper
protocol: 10-crop
runs:
  - {name: resnet-18, model: resnet-18, shortcut: A, width: 0.0625}
scales:
  quick: {iterations: 4, batch: 4, eval_interval: 2}
`

// writeImageNet writes an ILSVRC-2012 layout under root: train/<wnid>/
// with perTrain JPEGs and val/<wnid>/ with perVal JPEGs for each wnid,
// landscape and portrait pictures of a class-dependent colour gradient.
func writeImageNet(t *testing.T, root string, wnids []string, perTrain, perVal int) {
	t.Helper()
	for c, wnid := range wnids {
		for split, n := range map[string]int{"train": perTrain, "val": perVal} {
			dir := filepath.Join(root, split, wnid)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				w, h := 48, 36
				if i%2 == 1 {
					w, h = h, w
				}
				m := image.NewRGBA(image.Rect(0, 0, w, h))
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						m.Set(x, y, color.RGBA{uint8(x * 200 / w), uint8(y * 200 / h), uint8(100 * c), 255})
					}
				}
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(dir, fmt.Sprintf("%s_%d.JPEG", wnid, i))
				if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// `repro run SPEC --scale quick --imagenet DIR`, or --data DIR with
// DIR/imagenet, trains on ImageNet (not the CIFAR-10 proxy) and records the
// center-crop curve and the final 10-crop and multi-scale errors on val;
// both ways give the same numbers.
func TestRunImageNet(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	inet := filepath.Join(data, "imagenet")
	// Two classes (tench and goldfish, the first two ILSVRC-2012 wnids),
	// 4 training and 2 validation images each.
	writeImageNet(t, inet, []string{"n01440764", "n01443537"}, 4, 2)
	spec := writeSpec(t, dir, "tiny-imagenet.yaml", tinyImageNet)
	var first map[string]float64
	for _, where := range [][]string{{"--imagenet", inet}, {"--data", data}} {
		db := filepath.Join(t.TempDir(), "r.db")
		args := append([]string{"run", spec, "--scale", "quick", "--db", db, "--threads", "2", "--offline"}, where...)
		code, out, errs := runRepro(args...)
		if code != 0 || !strings.Contains(out, "trained 1,") {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", where, code, out, errs)
		}
		got := checkImageNetRun(t, db)
		if !strings.Contains(errs, "multi-scale testing at [224 256 384 480 640]") {
			t.Errorf("%v: no note on the multi-scale views:\n%s", where, errs)
		}
		if first == nil {
			first = got
			continue
		}
		for k, v := range first {
			if got[k] != v {
				t.Errorf("%s: %v with %v, %v with --imagenet", k, got[k], where, v)
			}
		}
	}
}

// checkImageNetRun checks the metrics and responses of tinyImageNet's one
// run in the database at db and returns the metrics by split/name@iteration.
func checkImageNetRun(t *testing.T, db string) map[string]float64 {
	t.Helper()
	r, ms := dbMetrics(t, db)
	if !strings.Contains(r.ConfigJSON, `"dataset":"imagenet"`) || !strings.Contains(r.ConfigJSON, `"proxy_of":""`) || !strings.Contains(r.ConfigJSON, `"input":224`) {
		t.Errorf("not an ImageNet run: %s", r.ConfigJSON)
	}
	got := map[string]float64{}
	for _, m := range ms {
		got[fmt.Sprintf("%s/%s@%d", m.Split, m.Name, m.Iteration)] = m.Value
	}
	// Evaluations at 2 and 4 (eval_interval 2); the final views at 4.
	var want []string
	for _, it := range []int{2, 4} {
		for _, k := range []string{"train/loss", "train/error", "train/lr", "val/loss", "val/error", "val/top5"} {
			want = append(want, fmt.Sprintf("%s@%d", k, it))
		}
	}
	want = append(want, "val/error_10crop@4", "val/top5_10crop@4", "val/error_multiscale@4", "val/top5_multiscale@4")
	if len(got) != len(want) {
		t.Errorf("%d metrics, want %d: %v", len(got), len(want), got)
	}
	for _, k := range want {
		v, ok := got[k]
		if !ok {
			t.Errorf("metric %s missing", k)
			continue
		}
		// Val errors count 4 images: multiples of 25%.
		if strings.HasPrefix(k, "val/") && !strings.HasPrefix(k, "val/loss") && (v < 0 || v > 100 || math.Mod(v, 25) != 0) {
			t.Errorf("%s = %v, want a multiple of 25 in [0, 100] (4 val images)", k, v)
		}
	}
	for _, view := range []string{"", "_10crop", "_multiscale"} {
		top1, top5 := got["val/error"+view+"@4"], got["val/top5"+view+"@4"]
		if top5 > top1 {
			t.Errorf("view %q: top-5 error %v above top-1 error %v", view, top5, top1)
		}
	}
	// Fig. 7's responses: ResNet-18 has 16 3x3 convs (8 basic blocks x 2).
	dbh, err := results.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer dbh.Close()
	if rs, err := dbh.Responses(r.ID); err != nil || len(rs) != 16 {
		t.Errorf("%d responses (%v), want 16", len(rs), err)
	}
	return got
}

// recordedCheckpoints counts the checkpoints a results database records (0
// while it does not exist yet or is busy).
func recordedCheckpoints(db string) int64 {
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	tb, err := results.QueryReadOnly(db, "SELECT count(*) FROM checkpoints")
	if err != nil || len(tb.Rows) != 1 {
		return 0
	}
	n, _ := tb.Rows[0][0].(int64)
	return n
}
